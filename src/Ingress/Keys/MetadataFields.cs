using System.Text.Json.Nodes;

namespace Broker.Ingress.Keys;

/// <summary>
/// The top-level fields of the key, user and team routes that LiteLLM keeps inside the record's <c>metadata</c>
/// (<c>guardrails</c>, <c>mcp_servers</c>): one list, read once. With <c>metadata</c> in the body they go into it (the body's
/// metadata replaces the stored one, as before); without it they are merged into the stored metadata, so an update that
/// sets only <c>guardrails</c> keeps every other metadata entry.
/// </summary>
public static class MetadataFields
{
    /// <summary>One metadata-backed field: its metadata key and how it is taken from a body (value, whether given, error).</summary>
    private sealed record Field(string Key, Func<JsonObject, (bool Given, JsonNode? Value, string? Error)> Take);

    private static readonly IReadOnlyList<Field> Fields =
    [
        new(Guardrails.KeyGuardrails.MetadataKey, Guardrails.KeyGuardrails.Take),
        new(Mcp.McpGrants.MetadataKey, Mcp.McpGrants.Take),
    ];

    /// <summary>
    /// Reads the metadata-backed fields of <paramref name="body"/> (left in it, so a second read of the same body agrees). When the body has a <c>metadata</c> object they are
    /// written into it and <c>Merge</c> is null; otherwise <c>Merge</c> holds them, to be merged into the stored metadata.
    /// </summary>
    public static (JsonObject? Merge, string? Error) Fold(JsonObject body)
    {
        ArgumentNullException.ThrowIfNull(body);
        var taken = new JsonObject();
        foreach (var field in Fields)
        {
            var (given, value, error) = field.Take(body);
            if (error is not null)
            {
                return (null, error);
            }

            if (given)
            {
                taken[field.Key] = value?.DeepClone();
            }
        }

        if (taken.Count == 0)
        {
            return (null, null);
        }

        switch (body["metadata"])
        {
            case JsonObject metadata:
                foreach (var (key, value) in taken)
                {
                    metadata[key] = value?.DeepClone();
                }

                return (null, null);
            case null:
                return (taken, null);
            default:
                // not an object: the metadata field itself reports it
                return (null, null);
        }
    }
}
