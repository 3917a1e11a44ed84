namespace Broker.Billing.Callbacks;

/// <summary>One logging/observability integration (Langfuse, Datadog, Sentry, OpenMeter, a generic API). Throws when not delivered.</summary>
public interface ICallbackSink
{
    /// <summary>The name used in success_callback / failure_callback / callbacks.</summary>
    string Name { get; }

    /// <summary>Whether this integration takes successful requests (OpenMeter and Langfuse do, Sentry does not).</summary>
    bool TakesSuccess { get; }

    bool TakesFailure { get; }

    Task SendAsync(CallbackEvent callbackEvent, CancellationToken cancellationToken);
}
