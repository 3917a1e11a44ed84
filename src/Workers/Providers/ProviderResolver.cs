using Broker.Config.Model;
using Broker.Workers.Providers.Anthropic;
using Broker.Workers.Providers.Mock;
using Broker.Workers.Providers.OpenAi;

namespace Broker.Workers.Providers;

/// <summary>Picks the provider implementation for a deployment; null when its provider is not supported yet.</summary>
public sealed class ProviderResolver(
    OpenAiCompatibleProvider openAi, AnthropicProvider anthropic, AnthropicPassThrough anthropicPassThrough, MockProvider mock, NativeProviders natives)
{
    private static readonly HashSet<string> OpenAiCompatible = [.. OpenAiCompatibleProvider.Providers];

    public IChatProvider? Resolve(ModelDeployment deployment, bool requestHasMock)
    {
        ArgumentNullException.ThrowIfNull(deployment);
        if (requestHasMock || deployment.MockResponse is not null)
        {
            return mock;
        }

        if (deployment.Provider == "anthropic")
        {
            return anthropic;
        }

        if (natives.Chat(deployment) is { } native)
        {
            return native;
        }

        return OpenAiCompatible.Contains(deployment.Provider) || deployment.ApiBase is not null ? openAi : null;
    }

    /// <summary>An Anthropic Messages body can go unchanged only to an Anthropic deployment.</summary>
    public IChatProvider? ResolvePassThrough(ModelDeployment deployment)
    {
        ArgumentNullException.ThrowIfNull(deployment);
        return deployment.Provider == "anthropic" && deployment.MockResponse is null ? anthropicPassThrough : null;
    }

    /// <summary>The embedding implementation for a deployment; null when its provider has none here.</summary>
    public IEmbeddingProvider? ResolveEmbeddings(ModelDeployment deployment, bool requestHasMock)
    {
        ArgumentNullException.ThrowIfNull(deployment);
        if (requestHasMock || deployment.MockResponse is not null)
        {
            return mock;
        }

        if (natives.Embeddings(deployment) is { } native)
        {
            return native;
        }

        return deployment.Provider is not ("anthropic" or "bedrock") && (OpenAiCompatible.Contains(deployment.Provider) || deployment.ApiBase is not null) ? openAi : null;
    }
}
