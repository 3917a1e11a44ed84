namespace Broker.Workers.Providers;

/// <summary>Calls one kind of provider API for chat completions.</summary>
public interface IChatProvider
{
    /// <summary>Never throws for provider failures: they come back classified. Throws only on cancellation.</summary>
    Task<ProviderResult> CompleteAsync(ProviderCall call, CancellationToken cancellationToken);
}
