using System.Text.Json.Nodes;

namespace Broker.Host.Tests.Security;

/// <summary>Asserts an error answer is in the API's own shape: Anthropic's on the Messages routes, OpenAI's elsewhere.</summary>
public static class ErrorShape
{
    public static JsonObject Assert4xx(string path, int status, string text, string? because = null)
    {
        var what = $"{path} ({because}) answered {status}: {(text.Length > 300 ? text[..300] : text)}";
        Assert.True(status is >= 400 and < 500, what);
        var body = JsonNode.Parse(text) as JsonObject;
        Assert.True(body is not null, what);
        var error = Assert.IsType<JsonObject>(body!["error"]);
        Assert.False(string.IsNullOrWhiteSpace(error["message"]?.GetValue<string>()), what);
        Assert.False(string.IsNullOrWhiteSpace(error["type"]?.GetValue<string>()), what);
        if (path.Contains("/messages", StringComparison.Ordinal))
        {
            Assert.True(body["type"]?.GetValue<string>() == "error", what);
        }
        else
        {
            Assert.True(error.ContainsKey("param") && error.ContainsKey("code"), what);
        }

        Assert.DoesNotContain("   at ", text, StringComparison.Ordinal);
        return error;
    }
}
