using System.Text.Json;
using System.Text.Json.Nodes;

namespace Broker.Workers.Retries;

/// <summary>
/// The retry and fallback controls a client may put in its request body, as LiteLLM reads them:
/// <c>fallbacks</c> (replaces the configured list for this request), <c>context_window_fallbacks</c>,
/// <c>content_policy_fallbacks</c>, <c>num_retries</c> and <c>mock_testing_fallbacks</c>.
/// </summary>
public sealed record RetryRequestOptions
{
    public static readonly RetryRequestOptions None = new();

    public IReadOnlyList<string>? Fallbacks { get; init; }

    public IReadOnlyList<string>? ContextWindowFallbacks { get; init; }

    public IReadOnlyList<string>? ContentPolicyFallbacks { get; init; }

    public int? NumRetries { get; init; }

    public bool MockTestingFallbacks { get; init; }

    /// <summary>Reads the controls of a request body; a body that is not a JSON object has none.</summary>
    public static RetryRequestOptions Parse(string body, string modelGroup)
    {
        ArgumentNullException.ThrowIfNull(body);
        if (!body.Contains("fallbacks", StringComparison.Ordinal) && !body.Contains("num_retries", StringComparison.Ordinal))
        {
            return None;
        }

        JsonObject? request;
        try
        {
            request = JsonNode.Parse(body) as JsonObject;
        }
        catch (JsonException)
        {
            return None;
        }

        return request is null ? None : From(request, modelGroup);
    }

    public static RetryRequestOptions From(JsonObject request, string modelGroup)
    {
        ArgumentNullException.ThrowIfNull(request);
        return new RetryRequestOptions
        {
            Fallbacks = Groups(request["fallbacks"], modelGroup),
            ContextWindowFallbacks = Groups(request["context_window_fallbacks"], modelGroup),
            ContentPolicyFallbacks = Groups(request["content_policy_fallbacks"], modelGroup),
            NumRetries = request["num_retries"] is JsonValue n && n.TryGetValue<int>(out var retries) && retries >= 0 ? retries : null,
            MockTestingFallbacks = request["mock_testing_fallbacks"] is JsonValue m && m.TryGetValue<bool>(out var mock) && mock,
        };
    }

    /// <summary>
    /// <c>["b", "c"]</c>, <c>[{"model": "b"}]</c> (LiteLLM's per-fallback params form; the params are not applied) or
    /// the config form <c>[{"a": ["b", "c"]}]</c>, read for <paramref name="modelGroup"/>.
    /// </summary>
    private static List<string>? Groups(JsonNode? node, string modelGroup)
    {
        if (node is not JsonArray list)
        {
            return null;
        }

        var groups = new List<string>();
        foreach (var item in list)
        {
            switch (item)
            {
                case JsonValue value when value.TryGetValue<string>(out var name) && name.Length > 0:
                    groups.Add(name);
                    break;
                case JsonObject obj when obj["model"] is JsonValue model && model.TryGetValue<string>(out var modelName):
                    groups.Add(modelName);
                    break;
                case JsonObject obj when obj[modelGroup] is JsonArray targets:
                    groups.AddRange(targets.OfType<JsonValue>().Select(t => t.TryGetValue<string>(out var s) ? s : null).OfType<string>());
                    break;
            }
        }

        return groups;
    }
}
