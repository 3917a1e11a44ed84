using System.Collections.Frozen;
using Broker.Config.Model;
using Broker.Config.Providers;
using Broker.Workers.Providers.Anthropic;
using Broker.Workers.Providers.Mock;

namespace Broker.Workers.Providers;

/// <summary>
/// Picks the implementation for a deployment from its provider's descriptor: the implementation registered under the
/// provider's name (unless api_base is that vendor's OpenAI-compatible endpoint), else the OpenAI-compatible one when
/// the provider speaks OpenAI's API or the deployment sets api_base; null for an unknown or unsupported provider.
/// </summary>
public sealed class ProviderResolver
{
    private readonly FrozenDictionary<string, IProvider> _implementations;
    private readonly IProvider _openAi;
    private readonly AnthropicPassThrough _anthropicPassThrough;
    private readonly MockProvider _mock;

    public ProviderResolver(IServiceProvider services, AnthropicPassThrough anthropicPassThrough, MockProvider mock)
    {
        ArgumentNullException.ThrowIfNull(services);
        _implementations = ProviderRegistry.Implementations.ToFrozenDictionary(
            p => p.Key, p => (IProvider)(services.GetService(p.Value) ?? throw new InvalidOperationException(
                $"provider '{p.Key}' ({p.Value.Name}) was registered after the Workers were built; register providers before the config is loaded")),
            StringComparer.Ordinal);
        _openAi = _implementations[BuiltInProviders.OpenAi.Name];
        _anthropicPassThrough = anthropicPassThrough;
        _mock = mock;
    }

    /// <summary>The implementation serving <paramref name="deployment"/>; the mock when the deployment or the request mocks.</summary>
    public IProvider? Find(ModelDeployment deployment, bool requestHasMock)
    {
        ArgumentNullException.ThrowIfNull(deployment);
        if (requestHasMock || deployment.MockResponse is not null)
        {
            return _mock;
        }

        var descriptor = ProviderCatalog.Find(deployment.Provider);
        if (descriptor is null || AzureWithoutBase(deployment))
        {
            return null;
        }

        if (_implementations.TryGetValue(descriptor.Name, out var native) && !descriptor.IsOpenAiCompatibleBase(deployment.ApiBase))
        {
            return native;
        }

        return descriptor.OpenAiCompatible || deployment.ApiBase is not null ? _openAi : null;
    }

    /// <summary>An azure deployment with neither api_base nor AZURE_API_BASE: kept by the loader, never callable.</summary>
    public static bool AzureWithoutBase(ModelDeployment deployment)
    {
        ArgumentNullException.ThrowIfNull(deployment);
        return deployment.Provider == BuiltInProviders.Azure.Name && deployment.ApiBase is null;
    }

    /// <summary>The chat implementation for a deployment; null when its provider is not supported.</summary>
    public IChatProvider? Resolve(ModelDeployment deployment, bool requestHasMock) => Find(deployment, requestHasMock);

    /// <summary>An Anthropic Messages body can go unchanged only to an Anthropic deployment.</summary>
    public IChatProvider? ResolvePassThrough(ModelDeployment deployment)
    {
        ArgumentNullException.ThrowIfNull(deployment);
        return deployment.Provider == BuiltInProviders.Anthropic.Name && deployment.MockResponse is null ? _anthropicPassThrough : null;
    }

    /// <summary>The embedding implementation for a deployment; null when its provider has none here.</summary>
    public IEmbeddingProvider? ResolveEmbeddings(ModelDeployment deployment, bool requestHasMock) => Find(deployment, requestHasMock)?.Embeddings;

    /// <summary>The rerank implementation for a deployment; null when its provider has none here.</summary>
    public IRerankProvider? ResolveRerank(ModelDeployment deployment, bool requestHasMock) => Find(deployment, requestHasMock)?.Rerank;
}
