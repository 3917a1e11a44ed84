namespace Broker.Workers.Inference;

/// <summary>
/// How Workers report an attempt that produced usage (host settings, section <c>Workers</c>).
/// </summary>
public sealed class AttemptReporting
{
    /// <summary>The configuration key (environment <c>Workers__AttemptWithUsage</c>).</summary>
    public const string WithUsageSetting = "Workers:AttemptWithUsage";

    /// <summary>
    /// True (the default): inside its <c>UsageRecorded</c>, one durable event less per request. False: as its own
    /// <c>InferenceAttempted</c>, the only form Billing of earlier releases reads; set it while such a Billing still
    /// runs (a rolling upgrade that reaches Workers first), or its attempt history misses the answering attempts.
    /// </summary>
    public bool AttemptWithUsage { get; set; } = true;
}
