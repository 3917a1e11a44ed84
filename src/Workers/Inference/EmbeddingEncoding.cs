using System.Buffers.Binary;
using System.Text.Json.Nodes;

namespace Broker.Workers.Inference;

/// <summary>
/// Puts each embedding in the encoding the client asked for: OpenAI's SDKs ask for <c>base64</c> (little-endian
/// float32) by default and decode it; floats sent to such a client would be read as garbage.
/// </summary>
public static class EmbeddingEncoding
{
    public static void Apply(JsonObject embeddings, string? requestedFormat)
    {
        ArgumentNullException.ThrowIfNull(embeddings);
        var wantBase64 = string.Equals(requestedFormat, "base64", StringComparison.Ordinal);
        foreach (var item in embeddings["data"] as JsonArray ?? [])
        {
            if (item is not JsonObject entry)
            {
                continue;
            }

            switch (entry["embedding"])
            {
                case JsonArray floats when wantBase64:
                    entry["embedding"] = ToBase64(floats);
                    break;
                case JsonValue text when !wantBase64 && text.TryGetValue<string>(out var base64):
                    entry["embedding"] = FromBase64(base64);
                    break;
            }
        }
    }

    public static string ToBase64(JsonArray floats)
    {
        ArgumentNullException.ThrowIfNull(floats);
        var bytes = new byte[floats.Count * 4];
        for (var i = 0; i < floats.Count; i++)
        {
            BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(i * 4), floats[i]!.GetValue<float>());
        }

        return Convert.ToBase64String(bytes);
    }

    public static JsonArray FromBase64(string base64)
    {
        var bytes = Convert.FromBase64String(base64);
        var result = new JsonArray();
        for (var i = 0; i + 4 <= bytes.Length; i += 4)
        {
            result.Add(BinaryPrimitives.ReadSingleLittleEndian(bytes.AsSpan(i)));
        }

        return result;
    }
}
