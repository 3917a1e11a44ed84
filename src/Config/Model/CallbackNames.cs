using System.Collections.Frozen;

namespace Broker.Config.Model;

/// <summary>Where a callback name of success_callback / failure_callback / callbacks takes effect.</summary>
public enum CallbackKind
{
    /// <summary>Billing sends each finished request to the integration (one registered sink per name).</summary>
    Delivered,

    /// <summary>Acts on the whole process: <c>otel</c> turns on tracing, <c>prometheus</c> names /metrics (always on).</summary>
    Process,

    /// <summary>A LiteLLM integration Broker does not implement: loaded with a warning, nothing is sent there.</summary>
    NotImplemented,
}

/// <summary>
/// The callback names config.yaml may use, in one list: the loader warns about any other name (listing these), and
/// every Billing sink is registered under one of the <see cref="CallbackKind.Delivered"/> names (a test keeps the
/// two in step). A name that <c>callback_settings</c> declares with <c>callback_type: generic_api</c> is delivered too.
/// </summary>
public static class CallbackNames
{
    public const string Otel = "otel";

    public const string Prometheus = "prometheus";

    public static FrozenDictionary<string, CallbackKind> Known { get; } = new Dictionary<string, CallbackKind>(StringComparer.Ordinal)
    {
        ["langfuse"] = CallbackKind.Delivered,
        ["datadog"] = CallbackKind.Delivered,
        ["sentry"] = CallbackKind.Delivered,
        ["openmeter"] = CallbackKind.Delivered,
        ["generic"] = CallbackKind.Delivered,
        ["generic_api"] = CallbackKind.Delivered,
        [Otel] = CallbackKind.Process,
        [Prometheus] = CallbackKind.Process,
        ["s3"] = CallbackKind.Delivered,
        ["gcs_bucket"] = CallbackKind.NotImplemented,
        ["langsmith"] = CallbackKind.Delivered,
        ["lunary"] = CallbackKind.NotImplemented,
        ["helicone"] = CallbackKind.NotImplemented,
        ["arize"] = CallbackKind.NotImplemented,
        ["arize_phoenix"] = CallbackKind.NotImplemented,
        ["braintrust"] = CallbackKind.NotImplemented,
        ["logfire"] = CallbackKind.NotImplemented,
        ["athina"] = CallbackKind.NotImplemented,
        ["greenscale"] = CallbackKind.NotImplemented,
        ["supabase"] = CallbackKind.NotImplemented,
        ["dynamodb"] = CallbackKind.NotImplemented,
        ["mlflow"] = CallbackKind.NotImplemented,
        ["opik"] = CallbackKind.NotImplemented,
        ["humanloop"] = CallbackKind.NotImplemented,
        ["galileo"] = CallbackKind.NotImplemented,
        ["literalai"] = CallbackKind.NotImplemented,
        ["traceloop"] = CallbackKind.NotImplemented,
        ["azure_storage"] = CallbackKind.NotImplemented,
        ["gcs_pubsub"] = CallbackKind.NotImplemented,
        ["aws_sqs"] = CallbackKind.NotImplemented,
        ["slack"] = CallbackKind.NotImplemented,
    }.ToFrozenDictionary(StringComparer.Ordinal);

    /// <summary>The names Broker acts on.</summary>
    public static IEnumerable<string> Active => Known.Where(k => k.Value != CallbackKind.NotImplemented).Select(k => k.Key).Order(StringComparer.Ordinal);

    /// <summary>The name as config.yaml lists are compared: trimmed, lower case.</summary>
    public static string Normalize(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return name.Trim().ToLowerInvariant();
    }
}
