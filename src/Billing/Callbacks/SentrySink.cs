namespace Broker.Billing.Callbacks;

/// <summary>
/// Sentry (failures only), through Sentry's SDK with SENTRY_DSN (and SENTRY_ENVIRONMENT): one error event per failed
/// request, tagged with its model group, deployment, provider and failure class. The SDK sends in the background;
/// each event is flushed before the usage message is acknowledged.
/// </summary>
public sealed class SentrySink : ICallbackSink, IDisposable
{
    /// <summary>From SENTRY_DSN and SENTRY_ENVIRONMENT.</summary>
    public static SentrySink? Create(CallbackSinkContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return context.Env.Get("SENTRY_DSN") is { } dsn ? new SentrySink(dsn, context.Env.Get("SENTRY_ENVIRONMENT")) : null;
    }

    private readonly SentryClient _client;

    public SentrySink(string dsn, string? environment)
    {
        _client = new SentryClient(new SentryOptions
        {
            Dsn = dsn,
            Environment = environment,
            SendDefaultPii = false,
            AutoSessionTracking = false,
            IsGlobalModeEnabled = false,
        });
    }

    public string Name => "sentry";

    public bool TakesSuccess => false;

    public bool TakesFailure => true;

    public async Task SendAsync(CallbackEvent callbackEvent, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(callbackEvent);
        var u = callbackEvent.Usage;
        var errorClass = u.ErrorClass ?? "Unknown";
        var sentryEvent = new SentryEvent
        {
            Message = new SentryMessage { Formatted = $"LLM request failed: {errorClass} ({u.ModelGroup} / {u.DeploymentId})" },
            Level = SentryLevel.Error,
            Logger = "broker.callbacks",
        };
        sentryEvent.SetTag("model_group", u.ModelGroup);
        sentryEvent.SetTag("deployment_id", u.DeploymentId);
        sentryEvent.SetTag("provider", u.Provider);
        sentryEvent.SetTag("error_class", errorClass);
        sentryEvent.SetExtra("request_id", u.RequestId.ToString());
        sentryEvent.SetExtra("latency_ms", u.LatencyMs);
        foreach (var (key, value) in callbackEvent.Metadata())
        {
            sentryEvent.SetExtra(key, value?.ToString());
        }

        _client.CaptureEvent(sentryEvent);
        await _client.FlushAsync(TimeSpan.FromSeconds(30));
        cancellationToken.ThrowIfCancellationRequested();
    }

    public void Dispose() => (_client as IDisposable)?.Dispose();
}
