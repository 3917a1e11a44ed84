using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Broker.Host.Tests.Infrastructure;

namespace Broker.Host.Tests.Caching;

/// <summary>One answer as the cache tests look at it.</summary>
internal sealed record CacheAnswer(HttpStatusCode Status, string Text, string? Key, bool Hit)
{
    public JsonObject Json => JsonNode.Parse(Text)!.AsObject();

    /// <summary>The assistant's text of a chat completion.</summary>
    public string Content => Json["choices"]![0]!["message"]!["content"]!.GetValue<string>();
}

internal static class CacheCalls
{
    /// <summary>Posts JSON to the broker and reads the answer with its cache headers.</summary>
    public static async Task<CacheAnswer> PostAsync(BrokerRunner broker, string path, string json, string? cacheControl = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(json, Encoding.UTF8, "application/json") };
        if (cacheControl is not null)
        {
            request.Headers.TryAddWithoutValidation("Cache-Control", cacheControl);
        }

        using var response = await broker.Http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        var key = response.Headers.TryGetValues("x-litellm-cache-key", out var keys) ? keys.Single() : null;
        var hit = response.Headers.TryGetValues("x-litellm-cache-hit", out var hits) && hits.Single() == "true";
        return new CacheAnswer(response.StatusCode, text, key, hit);
    }

    public static Task<CacheAnswer> ChatAsync(BrokerRunner broker, string json, string? cacheControl = null) =>
        PostAsync(broker, "v1/chat/completions", json, cacheControl);

    /// <summary>A chat request whose prompt is unique to the test (so tests sharing a cache never meet), plus extra fields.</summary>
    public static string Chat(string prompt, string extra = "", string model = "gpt-4o") =>
        $$"""{"model":"{{model}}","messages":[{"role":"user","content":"{{prompt}}"}]{{(extra.Length > 0 ? "," + extra : "")}}}""";

    /// <summary>The text of an OpenAI chat SSE stream, joined from its content deltas.</summary>
    public static string StreamedText(string sse) => string.Concat(
        sse.Split("\n\n", StringSplitOptions.RemoveEmptyEntries)
            .Where(f => f.StartsWith("data: {", StringComparison.Ordinal))
            .Select(f => JsonNode.Parse(f["data: ".Length..])!)
            .Select(c => c["choices"] is JsonArray { Count: > 0 } choices ? choices[0]!["delta"]?["content"]?.GetValue<string>() : null));

    public static async Task WaitUntilAsync(Func<bool> condition, string what)
    {
        for (var i = 0; i < 200 && !condition(); i++)
        {
            await Task.Delay(25);
        }

        Assert.True(condition(), what);
    }
}
