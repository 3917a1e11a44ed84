using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Broker.Ingress.Errors;
using Microsoft.AspNetCore.Http;

namespace Broker.Ingress.Http;

/// <summary>Reads a JSON object body within max_request_size_mb, or says why not in OpenAI's shape.</summary>
public static class JsonBodyReader
{
    private static readonly JsonDocumentOptions Strict = new() { AllowDuplicateProperties = false, MaxDepth = 64 };

    /// <summary>
    /// The request's body within general_settings.max_request_size_mb (or the route's <see cref="BodyFormat"/>), parsed
    /// once per request: the key check and the endpoint get the same object (<see cref="RequestBody"/>).
    /// </summary>
    public static async Task<(JsonObject? Body, string Text, OpenAiErrorResult? Error)> ReadAsync(HttpContext http, Config.IProxyConfigProvider config)
    {
        ArgumentNullException.ThrowIfNull(http);
        ArgumentNullException.ThrowIfNull(config);
        var body = await RequestBody.ReadAsync(http, config);
        return (body.Json, body.Text, body.Error);
    }

    public static async Task<(JsonObject? Body, string Text, OpenAiErrorResult? Error)> ReadAsync(
        HttpRequest request, long maxBytes, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.ContentLength > maxBytes)
        {
            return (null, "", TooLarge(request.ContentLength.Value, maxBytes));
        }

        using var buffer = new MemoryStream();
        var chunk = new byte[16 * 1024];
        int read;
        try
        {
            while ((read = await request.Body.ReadAsync(chunk, cancellationToken)) > 0)
            {
                if (buffer.Length + read > maxBytes)
                {
                    return (null, "", TooLarge(buffer.Length + read, maxBytes));
                }

                buffer.Write(chunk, 0, read);
            }
        }
        catch (BadHttpRequestException ex)
        {
            return (null, "", new OpenAiErrorResult(ex.StatusCode, ex.Message, "invalid_request_error"));
        }

        if (buffer.Length == 0)
        {
            return (null, "", OpenAiErrorResult.BadRequest(
                "We could not parse the JSON body of your request: the body is empty. (HINT: send a JSON object with 'model' and 'messages'.)",
                null, "invalid_json"));
        }

        return Parse(buffer.GetBuffer().AsMemory(0, (int)buffer.Length));
    }

    /// <summary>
    /// Parses a JSON object strictly: valid UTF-8, no duplicate keys, no string or key that is not valid UTF-16 once
    /// unescaped (a lone surrogate such as <c>\ud800</c>), at most 64 levels deep; else a 400 saying what is wrong.
    /// </summary>
    public static (JsonObject? Body, string Text, OpenAiErrorResult? Error) Parse(ReadOnlyMemory<byte> utf8)
    {
        if (utf8.Span.StartsWith("\uFEFF"u8))
        {
            utf8 = utf8[3..];
        }

        if (!System.Text.Unicode.Utf8.IsValid(utf8.Span))
        {
            return (null, "", Invalid("the body is not valid UTF-8."));
        }

        try
        {
            // only a \u escape can unescape to a lone surrogate: most bodies have none and skip the extra scan
            if (utf8.Span.IndexOf("\\u"u8) >= 0 && FindBadString(utf8.Span) is { } bad)
            {
                return (null, "", Invalid(bad));
            }

            var node = JsonNode.Parse(utf8.Span, documentOptions: Strict);
            if (node is JsonObject obj)
            {
                return (obj, System.Text.Encoding.UTF8.GetString(utf8.Span), null);
            }

            return (null, "", OpenAiErrorResult.BadRequest(
                "We could not parse the JSON body of your request: expected a JSON object.", null, "invalid_json"));
        }
        catch (JsonException ex)
        {
            return (null, "", Invalid(ex.Message));
        }
    }

    /// <summary>The first string or key whose escapes do not make valid UTF-16 (a lone surrogate), described; null when none.</summary>
    private static string? FindBadString(ReadOnlySpan<byte> utf8)
    {
        var reader = new Utf8JsonReader(utf8, new JsonReaderOptions { MaxDepth = Strict.MaxDepth });
        while (reader.Read())
        {
            if (reader.TokenType is JsonTokenType.String or JsonTokenType.PropertyName && reader.ValueIsEscaped)
            {
                try
                {
                    _ = reader.GetString();
                }
                catch (InvalidOperationException)
                {
                    return $"the {(reader.TokenType == JsonTokenType.PropertyName ? "key" : "string")} at byte {reader.TokenStartIndex.ToString(CultureInfo.InvariantCulture)} holds an unpaired surrogate escape (e.g. \\ud800), which is not valid Unicode.";
                }
            }
        }

        return null;
    }

    private static OpenAiErrorResult Invalid(string why) => OpenAiErrorResult.BadRequest(
        $"We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly. The OpenAI API expects a JSON payload.) {why}",
        null, "invalid_json");

    private static OpenAiErrorResult TooLarge(long size, long maxBytes) =>
        new(StatusCodes.Status413PayloadTooLarge,
            $"Request body is {size.ToString(CultureInfo.InvariantCulture)} bytes or more; the limit (general_settings.max_request_size_mb) is {(maxBytes / 1024.0 / 1024.0).ToString("0.##", CultureInfo.InvariantCulture)} MB.",
            "invalid_request_error", null, "request_too_large");
}
