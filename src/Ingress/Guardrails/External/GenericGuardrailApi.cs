using System.Text.Json.Nodes;
using Broker.Config.Model;

namespace Broker.Ingress.Guardrails.External;

/// <summary>
/// generic_guardrail_api: LiteLLM's generic guardrail contract. <c>POST {api_base}/beta/litellm_basic_guardrail_api</c>
/// with <c>{texts, request_data, input_type, additional_provider_specific_params}</c>; the answer's <c>action</c> is
/// <c>NONE</c>, <c>BLOCKED</c> (with <c>blocked_reason</c>) or <c>GUARDRAIL_INTERVENED</c> (with the rewritten <c>texts</c>).
/// </summary>
public sealed class GenericGuardrailApi(IHttpClientFactory clients) : IGuardrail
{
    public const string Path = "/beta/litellm_basic_guardrail_api";

    public string Kind => GuardrailTypes.GenericApi;

    public async Task<GuardrailVerdict> RunAsync(GuardrailCall call, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(call);
        var d = call.Definition;
        if (d.ApiBase is null)
        {
            return GuardrailVerdict.Unavailable("generic_guardrail_api: litellm_params.api_base is not set");
        }

        var url = d.ApiBase.TrimEnd('/').EndsWith(Path, StringComparison.Ordinal) ? d.ApiBase : GuardrailHttp.Join(d.ApiBase, Path);
        var caller = call.Caller;
        var body = new JsonObject
        {
            ["texts"] = new JsonArray(call.Texts.Select(t => (JsonNode)JsonValue.Create(t)!).ToArray()),
            ["input_type"] = call.Phase == GuardrailPhase.Answer ? "response" : "request",
            ["request_data"] = new JsonObject
            {
                ["user_api_key_hash"] = caller?.KeyHash,
                ["user_api_key_alias"] = caller?.KeyAlias,
                ["user_api_key_user_id"] = caller?.UserId,
                ["user_api_key_team_id"] = caller?.TeamId,
                ["user_api_key_end_user_id"] = caller?.EndUser,
            },
            ["additional_provider_specific_params"] = ToJson(d.Params.GetValueOrDefault("additional_provider_specific_params")) ?? new JsonObject(),
        };
        var (json, failure) = await GuardrailHttp.PostAsync(clients, url, body, d.ApiKey, cancellationToken);
        if (failure is not null || json is not JsonObject answer)
        {
            return GuardrailVerdict.Unavailable("generic guardrail API: " + (failure ?? "the answer is not an object"));
        }

        switch (answer["action"]?.GetValue<string>())
        {
            case "NONE":
                return GuardrailVerdict.Allow;
            case "BLOCKED":
                return GuardrailVerdict.Block(answer["blocked_reason"]?.GetValue<string>() ?? "blocked by the guardrail API");
            case "GUARDRAIL_INTERVENED":
                if (answer["texts"] is JsonArray texts && texts.Count == call.Texts.Count)
                {
                    return GuardrailVerdict.Masked(texts.Select(t => t?.GetValue<string>() ?? "").ToList());
                }

                if (answer["text"] is JsonValue single && call.Texts.Count == 1)
                {
                    return GuardrailVerdict.Masked([single.GetValue<string>()]);
                }

                return GuardrailVerdict.Unavailable("generic guardrail API: GUARDRAIL_INTERVENED without one text per text sent");
            default:
                return GuardrailVerdict.Unavailable("generic guardrail API: unknown action " + (answer["action"]?.ToJsonString() ?? "(none)"));
        }
    }

    /// <summary>A loaded YAML value (null, bool, long, double, string, list, map) as JSON.</summary>
    private static JsonNode? ToJson(object? value) => value switch
    {
        null => null,
        bool b => JsonValue.Create(b),
        long l => JsonValue.Create(l),
        int i => JsonValue.Create(i),
        double x => JsonValue.Create(x),
        string s => JsonValue.Create(s),
        IEnumerable<KeyValuePair<string, object?>> map => new JsonObject(map.Select(p => KeyValuePair.Create(p.Key, ToJson(p.Value)))),
        System.Collections.IEnumerable list => new JsonArray(list.Cast<object?>().Select(ToJson).ToArray()),
        _ => JsonValue.Create(value.ToString()),
    };
}
