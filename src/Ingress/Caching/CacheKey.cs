using System.Buffers;
using System.Collections.Frozen;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Broker.Ingress.Caching;

/// <summary>
/// The cache key of a request: SHA-256 over the call type, the model group and the canonical request (object
/// keys sorted, numbers normalized, <c>model</c> replaced by the group) without the fields that do not change
/// the answer (<c>user</c>, <c>metadata</c>, <c>stream</c>, <c>stream_options</c>, <c>cache</c>, ...).
/// Prefixed with the namespace when there is one: <c>namespace:hex</c>.
/// </summary>
public static class CacheKey
{
    /// <summary>Top-level request fields that never change the answer.</summary>
    public static FrozenSet<string> IgnoredFields { get; } = new[]
    {
        "model", "user", "metadata", "litellm_metadata", "stream", "stream_options", "cache", "store", "tags",
        "prompt_cache_key", "safety_identifier", "timeout", "num_retries", "request_timeout", "extra_headers",
    }.ToFrozenSet(StringComparer.Ordinal);

    public static string Compute(CacheCallType callType, string modelGroup, JsonObject request, string? keyNamespace)
    {
        ArgumentNullException.ThrowIfNull(modelGroup);
        ArgumentNullException.ThrowIfNull(request);
        var buffer = new ArrayBufferWriter<byte>(1024);
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { SkipValidation = true }))
        {
            writer.WriteStartObject();
            writer.WriteString("call_type", callType.ToString());
            writer.WriteString("model_group", modelGroup);
            writer.WritePropertyName("request");
            writer.WriteStartObject();
            foreach (var (name, value) in request.OrderBy(p => p.Key, StringComparer.Ordinal))
            {
                if (!IgnoredFields.Contains(name))
                {
                    writer.WritePropertyName(name);
                    WriteCanonical(writer, value);
                }
            }

            writer.WriteEndObject();
            writer.WriteEndObject();
        }

        var hex = Convert.ToHexStringLower(SHA256.HashData(buffer.WrittenSpan));
        return keyNamespace is null ? hex : keyNamespace + ":" + hex;
    }

    private static void WriteCanonical(Utf8JsonWriter writer, JsonNode? node)
    {
        switch (node)
        {
            case null:
                writer.WriteNullValue();
                break;
            case JsonObject obj:
                writer.WriteStartObject();
                foreach (var (name, value) in obj.OrderBy(p => p.Key, StringComparer.Ordinal))
                {
                    writer.WritePropertyName(name);
                    WriteCanonical(writer, value);
                }

                writer.WriteEndObject();
                break;
            case JsonArray array:
                writer.WriteStartArray();
                foreach (var item in array)
                {
                    WriteCanonical(writer, item);
                }

                writer.WriteEndArray();
                break;
            case JsonValue value when value.GetValueKind() == JsonValueKind.Number:
                // 1, 1.0 and 1e0 are the same temperature
                if (value.TryGetValue<long>(out var integer))
                {
                    writer.WriteNumberValue(integer);
                }
                else if (value.TryGetValue<decimal>(out var dec))
                {
                    var normalized = dec / 1.000000000000000000000000000000000m;
                    if (decimal.IsInteger(normalized) && normalized >= long.MinValue && normalized <= long.MaxValue)
                    {
                        writer.WriteNumberValue((long)normalized);
                    }
                    else
                    {
                        writer.WriteNumberValue(normalized);
                    }
                }
                else
                {
                    writer.WriteNumberValue(value.GetValue<double>());
                }

                break;
            default:
                node.WriteTo(writer);
                break;
        }
    }
}
