namespace Broker.Workers.Providers;

/// <summary>Calls one kind of provider API for chat completions.</summary>
public interface IChatProvider
{
    /// <summary>Never throws for provider failures: they come back classified. Throws only on cancellation.</summary>
    Task<ProviderResult> CompleteAsync(ProviderCall call, CancellationToken cancellationToken);

    /// <summary>
    /// Starts a streamed call. Returns once the provider answered with headers (or failed). The chunks are
    /// OpenAI <c>chat.completion.chunk</c> objects; the last one carries <c>usage</c> when the provider reports it.
    /// </summary>
    Task<ProviderStream> StreamAsync(ProviderCall call, CancellationToken cancellationToken);
}
