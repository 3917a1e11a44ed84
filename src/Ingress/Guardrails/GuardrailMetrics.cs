using System.Diagnostics;
using System.Diagnostics.Metrics;
using Broker.ServiceDefaults.Observability;

namespace Broker.Ingress.Guardrails;

/// <summary>Guardrail decisions and their latency on Broker's meter (exported on <c>GET /metrics</c> with the rest).</summary>
public sealed class GuardrailMetrics
{
    private readonly Counter<long> _decisions;
    private readonly Histogram<double> _latency;

    public GuardrailMetrics(BrokerMetrics metrics)
    {
        ArgumentNullException.ThrowIfNull(metrics);
        _decisions = metrics.Meter.CreateCounter<long>("broker_guardrail_decisions", description: "Guardrail runs by guardrail, mode and decision (allowed, masked, blocked, unavailable)");
        _latency = metrics.Meter.CreateHistogram<double>("broker_guardrail_latency", unit: "s", description: "Seconds a guardrail took, by guardrail and mode");
    }

    public void Record(GuardrailDecision decision)
    {
        ArgumentNullException.ThrowIfNull(decision);
        var action = decision.Action.ToString().ToLowerInvariant();
        _decisions.Add(1, new TagList { { "guardrail", decision.Guardrail }, { "kind", decision.Kind }, { "mode", decision.Mode }, { "action", action } });
        _latency.Record(decision.LatencyMs / 1000, new TagList { { "guardrail", decision.Guardrail }, { "mode", decision.Mode } });
    }
}
