using System.Text.Json.Nodes;
using Broker.Ingress.Features.Batches;

namespace Broker.Ingress.Tests.Features.Batches;

public sealed class BatchShapesTests
{
    [Theory]
    [InlineData("24h", 86400)]
    [InlineData("30m", 1800)]
    [InlineData("2s", 2)]
    [InlineData("7d", 604800)]
    public void ParseWindow_Durations_Seconds(string window, int seconds) =>
        Assert.Equal(TimeSpan.FromSeconds(seconds), BatchesEndpoints.ParseWindow(window));

    [Theory]
    [InlineData("")]
    [InlineData("h")]
    [InlineData("24")]
    [InlineData("0h")]
    [InlineData("-1h")]
    [InlineData("24w")]
    [InlineData("31d")]
    [InlineData("2000000000d")]
    [InlineData("9223372036854775807s")]
    public void ParseWindow_Invalid_Null(string window) => Assert.Null(BatchesEndpoints.ParseWindow(window));

    [Fact]
    public void Output_ProviderAnswer_OpenAiBatchLine()
    {
        var requestId = Guid.NewGuid();
        var line = new ClaimedLine("batch_1", 3, "my \"id\"", "g", "m", "{}", requestId, BatchEndpoints.ChatCompletions, null, 1);

        var output = JsonNode.Parse(BatchLineRunner.Output(line, 200, """{"object":"chat.completion","choices":[]}"""))!.AsObject();

        Assert.Equal("batch_req_" + requestId.ToString("N"), output["id"]!.GetValue<string>());
        Assert.Equal("my \"id\"", output["custom_id"]!.GetValue<string>());
        Assert.Equal(200, output["response"]!["status_code"]!.GetValue<int>());
        Assert.Equal(requestId.ToString(), output["response"]!["request_id"]!.GetValue<string>());
        Assert.Equal("chat.completion", output["response"]!["body"]!["object"]!.GetValue<string>());
        Assert.True(output.ContainsKey("error"));
        Assert.Null(output["error"]);
    }
}
