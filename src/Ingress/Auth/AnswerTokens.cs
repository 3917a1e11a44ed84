using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace Broker.Ingress.Auth;

/// <summary>
/// The tokens an answer used, for tpm limits: read from a JSON answer's <c>usage</c> (OpenAI's <c>total_tokens</c>,
/// Anthropic's <c>input_tokens</c> + <c>output_tokens</c>), or recorded on the request by a stream when it ends.
/// </summary>
public static class AnswerTokens
{
    private static readonly object Key = new();

    /// <summary>A streamed answer's tokens, once it ended.</summary>
    public static void Record(HttpContext http, long tokens)
    {
        ArgumentNullException.ThrowIfNull(http);
        http.Items[Key] = tokens;
    }

    /// <summary>Tokens of a finished request: the streamed answer's, else those in the JSON answer, else null.</summary>
    public static long? Of(HttpContext http, string? json)
    {
        ArgumentNullException.ThrowIfNull(http);
        if (http.Items.TryGetValue(Key, out var recorded) && recorded is long streamed)
        {
            return streamed;
        }

        return json is null ? null : FromJson(json);
    }

    private static long? FromJson(string json)
    {
        try
        {
            using var doc = JsonDocument.Parse(json);
            if (!doc.RootElement.TryGetProperty("usage", out var usage) || usage.ValueKind != JsonValueKind.Object)
            {
                return null;
            }

            if (usage.TryGetProperty("total_tokens", out var total) && total.TryGetInt64(out var n))
            {
                return n;
            }

            long? input = usage.TryGetProperty("input_tokens", out var i) && i.TryGetInt64(out var a) ? a : null;
            long? output = usage.TryGetProperty("output_tokens", out var o) && o.TryGetInt64(out var b) ? b : null;
            return input is null && output is null ? null : (input ?? 0) + (output ?? 0);
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
