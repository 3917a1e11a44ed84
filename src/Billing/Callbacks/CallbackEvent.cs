using System.Text.Json.Nodes;
using Broker.Contracts.Identity;
using Broker.Contracts.Usage;

namespace Broker.Billing.Callbacks;

/// <summary>
/// One finished request as the callbacks see it: the usage event, the caller as it may be shown
/// (null under redact_user_api_key_info), and LiteLLM's standard logging payload built from them.
/// Prompts and responses are not carried by <see cref="UsageRecorded"/>, so no callback ever receives them; with
/// turn_off_message_logging the payload says <c>redacted-by-litellm</c> in their place, as LiteLLM does.
/// </summary>
public sealed class CallbackEvent
{
    public const string Redacted = "redacted-by-litellm";

    private CallbackEvent(UsageRecorded usage, Caller? caller, CallbackOptions options)
    {
        Usage = usage;
        Caller = caller;
        Options = options;
    }

    public UsageRecorded Usage { get; }

    /// <summary>The caller to report, or null (master key, open gateway, or redact_user_api_key_info).</summary>
    public Caller? Caller { get; }

    public CallbackOptions Options { get; }

    public bool Succeeded => Usage.Succeeded;

    public string Status => Usage.Succeeded ? "success" : "failure";

    public DateTimeOffset EndTime => Usage.CompletedAt;

    public DateTimeOffset StartTime => Usage.CompletedAt - TimeSpan.FromMilliseconds(Usage.LatencyMs);

    public DateTimeOffset? CompletionStartTime => Usage.TimeToFirstTokenMs is { } ttft ? StartTime + TimeSpan.FromMilliseconds(ttft) : null;

    public decimal Cost => Usage.Cost ?? 0m;

    public static CallbackEvent From(UsageRecorded usage, CallbackOptions options)
    {
        ArgumentNullException.ThrowIfNull(usage);
        ArgumentNullException.ThrowIfNull(options);
        var caller = options.RedactUserApiKeyInfo || usage.Caller is null ? null : usage.Caller;
        return new CallbackEvent(usage, caller, options);
    }

    /// <summary>The caller's fields LiteLLM puts in a payload's metadata (<c>user_api_key_*</c>); empty when redacted.</summary>
    public JsonObject Metadata()
    {
        var metadata = new JsonObject();
        if (Caller is { } c)
        {
            metadata["user_api_key_hash"] = c.KeyHash;
            metadata["user_api_key_alias"] = c.KeyAlias;
            metadata["user_api_key_user_id"] = c.UserId;
            metadata["user_api_key_team_id"] = c.TeamId;
            metadata["user_api_key_team_alias"] = c.TeamAlias;
            metadata["user_api_key_end_user_id"] = c.EndUser;
        }

        metadata["model_group"] = Usage.ModelGroup;
        metadata["model_id"] = Usage.DeploymentId;
        metadata["cache_hit"] = Usage.CacheHit;
        return metadata;
    }

    /// <summary>LiteLLM's StandardLoggingPayload (the fields Broker knows), as the generic and Datadog callbacks send it.</summary>
    public JsonObject StandardPayload()
    {
        var u = Usage;
        var payload = new JsonObject
        {
            ["id"] = u.RequestId.ToString(),
            ["trace_id"] = u.RequestId.ToString(),
            ["call_type"] = "acompletion",
            ["status"] = Status,
            ["model"] = u.ModelGroup,
            ["model_group"] = u.ModelGroup,
            ["model_id"] = u.DeploymentId,
            ["custom_llm_provider"] = u.Provider,
            ["prompt_tokens"] = u.PromptTokens,
            ["completion_tokens"] = u.CompletionTokens,
            ["total_tokens"] = u.PromptTokens + u.CompletionTokens,
            ["response_cost"] = Cost,
            ["cache_hit"] = u.CacheHit,
            ["startTime"] = StartTime.ToUnixTimeMilliseconds() / 1000.0,
            ["endTime"] = EndTime.ToUnixTimeMilliseconds() / 1000.0,
            ["completionStartTime"] = CompletionStartTime is { } cst ? cst.ToUnixTimeMilliseconds() / 1000.0 : null,
            ["response_time"] = u.LatencyMs / 1000.0,
            ["metadata"] = Metadata(),
            ["request_tags"] = new JsonArray((Caller?.Tags ?? []).Select(t => (JsonNode?)JsonValue.Create(t)).ToArray()),
            ["end_user"] = Caller?.EndUser,
        };
        if (!u.Succeeded)
        {
            payload["error_str"] = u.ErrorClass ?? "Unknown";
            payload["error_information"] = new JsonObject { ["error_class"] = u.ErrorClass ?? "Unknown" };
        }

        if (Options.TurnOffMessageLogging)
        {
            payload["messages"] = Redacted;
            payload["response"] = Redacted;
        }

        return payload;
    }
}
