namespace Broker.Workers.Providers;

/// <summary>Calls one kind of provider API for embeddings; the result's body is OpenAI's embedding list.</summary>
public interface IEmbeddingProvider
{
    Task<ProviderResult> EmbedAsync(ProviderCall call, CancellationToken cancellationToken);
}
