using Broker.Contracts.Inference;

namespace Broker.Workers.Providers;

/// <summary>
/// One provider API behind OpenAI's shapes: chat completions (whole and streamed), embeddings when the API has them,
/// and the health probe. What the gateway knows about it without calling it (prefixes, api_key variables, default
/// api_base, supported parameters) is its <see cref="Broker.Config.Providers.ProviderDescriptor"/>, registered with it
/// in <see cref="ProviderRegistry"/>.
/// </summary>
public interface IProvider : IChatProvider
{
    /// <summary>Embeddings, or null when the API has none here (implement <see cref="IEmbeddingProvider"/> to offer them).</summary>
    IEmbeddingProvider? Embeddings => this as IEmbeddingProvider;

    /// <summary>Reranking, or null when the API has none here (implement <see cref="IRerankProvider"/> to offer it).</summary>
    IRerankProvider? Rerank => this as IRerankProvider;

    /// <summary>One cheap real call for the health check: the given one-token chat completion, or the one-input embedding.</summary>
    Task<ProviderResult> ProbeAsync(ProviderCall call, bool embedding, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(call);
        if (!embedding)
        {
            return CompleteAsync(call, cancellationToken);
        }

        return Embeddings is { } embeddings
            ? embeddings.EmbedAsync(call, cancellationToken)
            : Task.FromResult(ProviderResult.Failure(new ProviderError(ProviderErrorClass.BadRequest, 400,
                $"Provider '{call.Deployment.Provider}' ({call.Deployment.Model}) does not support embeddings here")));
    }
}
