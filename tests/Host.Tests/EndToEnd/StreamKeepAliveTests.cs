using System.Net;
using System.Text;
using Broker.Host.Tests.Infrastructure;
using Broker.TestKit;

namespace Broker.Host.Tests.EndToEnd;

/// <summary>SSE keep-alive comments while the first token is slow, and stream_timeout on the first token.</summary>
public sealed class StreamKeepAliveTests
{
    private static async Task<(HttpStatusCode Status, string Body, TimeSpan Elapsed)> StreamAsync(BrokerRunner broker, string model)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "v1/chat/completions")
        {
            Content = new StringContent($$"""{"model":"{{model}}","stream":true,"messages":[{"role":"user","content":"hi"}]}""", Encoding.UTF8, "application/json"),
        };
        var watch = System.Diagnostics.Stopwatch.StartNew();
        using var response = await broker.Http.SendAsync(request);
        return (response.StatusCode, await response.Content.ReadAsStringAsync(), watch.Elapsed);
    }

    [Fact]
    public async Task StreamChat_SlowFirstToken_SendsKeepAliveCommentsThenTheAnswer()
    {
        await using var upstream = await FakeUpstream.StartOpenAiAsync();
        upstream.Delay = TimeSpan.FromMilliseconds(1500);
        var yaml = $"""
            model_list:
              - model_name: slow-start
                litellm_params: {"{"}model: openai/x, api_base: "{upstream.BaseUrl}/v1", api_key: sk-k{"}"}
            """;
        await using var broker = await BrokerRunner.StartEmbeddedAsync(yaml, settings: new Dictionary<string, string?> { ["Ingress:SseKeepAliveSeconds"] = "0.3" });

        var (status, body, _) = await StreamAsync(broker, "slow-start");

        Assert.Equal(HttpStatusCode.OK, status);
        var lines = body.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var keepAlives = lines.TakeWhile(l => l.StartsWith(':')).Count();
        Assert.True(keepAlives >= 2, $"expected keep-alive comments before the first token, got {keepAlives}:\n{body}");
        Assert.Equal("data: [DONE]", lines[^1]);
        Assert.Contains("Hello", body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task StreamChat_FirstTokenLaterThanStreamTimeout_Answers504()
    {
        await using var upstream = await FakeUpstream.StartOpenAiAsync();
        upstream.Delay = TimeSpan.FromSeconds(10);
        var yaml = $"""
            model_list:
              - model_name: stuck
                litellm_params: {"{"}model: openai/x, api_base: "{upstream.BaseUrl}/v1", api_key: sk-k{"}"}
            router_settings:
              stream_timeout: 1
            """;
        await using var broker = await BrokerRunner.StartEmbeddedAsync(yaml, settings: new Dictionary<string, string?> { ["Ingress:SseKeepAliveSeconds"] = "0" });

        var (status, body, elapsed) = await StreamAsync(broker, "stuck");

        Assert.Equal(HttpStatusCode.GatewayTimeout, status);
        Assert.Contains("\"type\":\"timeout\"", body, StringComparison.Ordinal);
        Assert.True(elapsed < TimeSpan.FromSeconds(5), $"took {elapsed.TotalSeconds:0.0} s");
    }
}
