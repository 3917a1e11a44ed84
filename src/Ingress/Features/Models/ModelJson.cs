using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Broker.Config.Model;
using Broker.ServiceDefaults.Models;

namespace Broker.Ingress.Features.Models;

/// <summary>
/// A deployment in LiteLLM's <c>/model/info</c> shape: <c>{model_name, litellm_params, model_info: {id, db_model, ...}}</c>.
/// Secrets never leave: a credential-like litellm_params value (api_key, aws_secret_access_key, ...) is shown redacted,
/// unless it is an <c>os.environ/NAME</c> reference, which names a variable and holds no secret.
/// </summary>
internal static class ModelJson
{
    private const string EnvPrefix = "os.environ/";

    public static JsonObject Of(ModelDeployment d, StoredModel? stored)
    {
        ArgumentNullException.ThrowIfNull(d);
        var litellmParams = stored is not null && JsonNode.Parse(stored.Entry.LitellmParams) is JsonObject given
            ? Redacted(given)
            : FromDeployment(d);
        var info = new JsonObject
        {
            ["id"] = d.Id,
            ["db_model"] = d.DbModel,
            ["litellm_provider"] = d.Provider,
            ["mode"] = d.ModelInfo.Mode,
            ["base_model"] = d.ModelInfo.BaseModel,
            ["input_cost_per_token"] = d.ModelInfo.InputCostPerToken,
            ["output_cost_per_token"] = d.ModelInfo.OutputCostPerToken,
            ["input_cost_per_query"] = d.ModelInfo.InputCostPerQuery,
            ["max_tokens"] = d.ModelInfo.MaxTokens,
            ["max_input_tokens"] = d.ModelInfo.MaxInputTokens,
            ["max_output_tokens"] = d.ModelInfo.MaxOutputTokens,
            ["access_groups"] = new JsonArray([.. d.ModelInfo.AccessGroups.Select(g => (JsonNode?)JsonValue.Create(g))]),
            ["queue"] = ModelGroup.QueueNameFor(d.ModelName),
        };
        foreach (var (key, value) in d.ModelInfo.Extra)
        {
            info[key] ??= ToNode(value);
        }

        if (stored is not null)
        {
            info["created_by"] = stored.CreatedBy;
            info["created_at"] = stored.CreatedAt.ToString("O", CultureInfo.InvariantCulture);
            info["updated_at"] = stored.UpdatedAt.ToString("O", CultureInfo.InvariantCulture);
        }

        return new JsonObject { ["model_name"] = d.ModelName, ["litellm_params"] = litellmParams, ["model_info"] = info };
    }

    /// <summary>A stored model that does not load now (an os.environ variable gone): listed so that it can be fixed or deleted.</summary>
    public static JsonObject OfUnloaded(StoredModel stored)
    {
        ArgumentNullException.ThrowIfNull(stored);
        var litellmParams = JsonNode.Parse(stored.Entry.LitellmParams) is JsonObject given ? Redacted(given) : [];
        return new JsonObject
        {
            ["model_name"] = stored.Entry.ModelName,
            ["litellm_params"] = litellmParams,
            ["model_info"] = new JsonObject
            {
                ["id"] = stored.Entry.Id,
                ["db_model"] = true,
                ["loaded"] = false,
                ["created_by"] = stored.CreatedBy,
                ["created_at"] = stored.CreatedAt.ToString("O", CultureInfo.InvariantCulture),
                ["updated_at"] = stored.UpdatedAt.ToString("O", CultureInfo.InvariantCulture),
            },
        };
    }

    /// <summary>True for litellm_params keys that hold credentials.</summary>
    public static bool IsSecretKey(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        var k = key.ToLowerInvariant();
        return k.Contains("key", StringComparison.Ordinal) || k.Contains("secret", StringComparison.Ordinal) ||
               k.Contains("password", StringComparison.Ordinal) || k.Contains("credential", StringComparison.Ordinal) ||
               k.EndsWith("token", StringComparison.Ordinal) || k == "authorization" || k == "extra_headers" || k == "headers";
    }

    private static JsonObject Redacted(JsonObject given)
    {
        var result = new JsonObject();
        foreach (var (key, value) in given)
        {
            result[key] = !IsSecretKey(key) || value is null
                ? value?.DeepClone()
                : value is JsonValue v && v.GetValueKind() == JsonValueKind.String && v.GetValue<string>() is var text
                    ? text.StartsWith(EnvPrefix, StringComparison.Ordinal) ? text : Secret.Redact(text)
                    : "****";
        }

        return result;
    }

    private static JsonObject FromDeployment(ModelDeployment d)
    {
        var p = new JsonObject { ["model"] = d.Model };
        if (d.ApiBase is not null)
        {
            p["api_base"] = d.ApiBase;
        }

        if (d.ApiVersion is not null)
        {
            p["api_version"] = d.ApiVersion;
        }

        if (d.ApiKey is not null)
        {
            p["api_key"] = d.ApiKey.ToString();
        }

        if (d.Rpm is not null)
        {
            p["rpm"] = d.Rpm;
        }

        if (d.Tpm is not null)
        {
            p["tpm"] = d.Tpm;
        }

        if (d.MaxParallelRequests is not null)
        {
            p["max_parallel_requests"] = d.MaxParallelRequests;
        }

        if (d.MaxRetries is not null)
        {
            p["max_retries"] = d.MaxRetries;
        }

        if (d.Tags.Count > 0)
        {
            p["tags"] = new JsonArray([.. d.Tags.Select(t => (JsonNode?)JsonValue.Create(t))]);
        }

        foreach (var (key, value) in d.DefaultParams)
        {
            p[key] = IsSecretKey(key) ? "****" : JsonNode.Parse(value.GetRawText());
        }

        return p;
    }

    /// <summary>A model_info value as loaded from YAML (scalars, lists, maps) as JSON.</summary>
    private static JsonNode? ToNode(object? value) => value switch
    {
        null => null,
        JsonNode node => node.DeepClone(),
        JsonElement element => JsonNode.Parse(element.GetRawText()),
        string text => JsonValue.Create(text),
        bool flag => JsonValue.Create(flag),
        int number => JsonValue.Create(number),
        long number => JsonValue.Create(number),
        double number => JsonValue.Create(number),
        decimal number => JsonValue.Create(number),
        IDictionary<string, object?> map => new JsonObject(map.Select(kv => KeyValuePair.Create(kv.Key, ToNode(kv.Value)))),
        System.Collections.IEnumerable items => new JsonArray([.. items.Cast<object?>().Select(ToNode)]),
        _ => JsonValue.Create(Convert.ToString(value, CultureInfo.InvariantCulture)),
    };
}
