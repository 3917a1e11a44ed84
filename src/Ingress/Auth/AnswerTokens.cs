using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace Broker.Ingress.Auth;

/// <summary>
/// The tokens an answer used, for tpm limits and settling budget reservations: read from a JSON answer's <c>usage</c>
/// (OpenAI's <c>prompt_tokens</c>/<c>completion_tokens</c>/<c>total_tokens</c>, Anthropic's <c>input_tokens</c> +
/// <c>output_tokens</c>), or recorded on the request by a stream when it ends.
/// </summary>
public static class AnswerTokens
{
    private static readonly object Key = new();

    /// <summary>A streamed answer's tokens, once it ended.</summary>
    public static void Record(HttpContext http, long input, long output)
    {
        ArgumentNullException.ThrowIfNull(http);
        http.Items[Key] = (input, output);
    }

    /// <summary>Tokens of a finished request: the streamed answer's, else those in the JSON answer, else null.</summary>
    public static long? Of(HttpContext http, string? json) => Split(http, json) is var (input, output) ? input + output : null;

    /// <summary>Input and output tokens of a finished request (a total without a split counts as input), else null.</summary>
    public static (long Input, long Output)? Split(HttpContext http, string? json)
    {
        ArgumentNullException.ThrowIfNull(http);
        if (http.Items.TryGetValue(Key, out var recorded) && recorded is (long input, long output))
        {
            return (input, output);
        }

        return json is null ? null : FromJson(json);
    }

    private static (long, long)? FromJson(string json)
    {
        try
        {
            using var doc = JsonDocument.Parse(json);
            if (doc.RootElement.ValueKind != JsonValueKind.Object || !doc.RootElement.TryGetProperty("usage", out var usage) ||
                usage.ValueKind != JsonValueKind.Object)
            {
                return null;
            }

            var input = Number(usage, "prompt_tokens") ?? Number(usage, "input_tokens");
            var output = Number(usage, "completion_tokens") ?? Number(usage, "output_tokens");
            if (Number(usage, "total_tokens") is { } total)
            {
                var outputPart = Math.Clamp(output ?? 0, 0, total);
                return (total - outputPart, outputPart);
            }

            return input is null && output is null ? null : (input ?? 0, output ?? 0);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static long? Number(JsonElement usage, string name) =>
        usage.TryGetProperty(name, out var value) && value.TryGetInt64(out var n) ? n : null;
}
