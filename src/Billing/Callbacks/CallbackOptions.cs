using Broker.Config.Model;

namespace Broker.Billing.Callbacks;

/// <summary>litellm_settings success_callback, failure_callback, callbacks, turn_off_message_logging, redact_user_api_key_info.</summary>
public sealed record CallbackOptions
{
    /// <summary>Names (lower case) that get successful requests: success_callback + callbacks.</summary>
    public IReadOnlySet<string> Success { get; init; } = new HashSet<string>();

    /// <summary>Names (lower case) that get failed requests: failure_callback + callbacks.</summary>
    public IReadOnlySet<string> Failure { get; init; } = new HashSet<string>();

    public bool TurnOffMessageLogging { get; init; }

    public bool RedactUserApiKeyInfo { get; init; }

    public IReadOnlyList<string> LangfuseDefaultTags { get; init; } = [];

    /// <summary>
    /// Whether a name is listed that Billing may deliver finished requests to: a registered integration, or a
    /// callback_settings entry (any name config.yaml's loader does not know). otel and prometheus act on the process instead.
    /// </summary>
    public bool DeliversAny => Success.Concat(Failure).Any(name =>
        !CallbackNames.Known.TryGetValue(CallbackNames.Normalize(name), out var kind) || kind == CallbackKind.Delivered);

    public static CallbackOptions From(LitellmSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        static IEnumerable<string> Names(IEnumerable<string> list) => list.Select(n => n.Trim().ToLowerInvariant()).Where(n => n.Length > 0);
        return new CallbackOptions
        {
            Success = new HashSet<string>(Names(settings.SuccessCallback.Concat(settings.Callbacks)), StringComparer.Ordinal),
            Failure = new HashSet<string>(Names(settings.FailureCallback.Concat(settings.Callbacks)), StringComparer.Ordinal),
            TurnOffMessageLogging = settings.TurnOffMessageLogging,
            RedactUserApiKeyInfo = settings.RedactUserApiKeyInfo,
            LangfuseDefaultTags = settings.LangfuseDefaultTags,
        };
    }

    public bool Wants(ICallbackSink sink, bool succeeded)
    {
        ArgumentNullException.ThrowIfNull(sink);
        var name = sink.Name.ToLowerInvariant();
        return succeeded ? sink.TakesSuccess && Success.Contains(name) : sink.TakesFailure && Failure.Contains(name);
    }
}
