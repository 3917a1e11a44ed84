using Broker.Config.Model;
using Broker.Workers.Providers.Bedrock;
using Broker.Workers.Providers.Cohere;
using Broker.Workers.Providers.Gemini;

namespace Broker.Workers.Providers;

/// <summary>
/// The providers with their own API here (Gemini, Cohere, Bedrock). A <c>gemini/</c> or <c>cohere/</c> deployment
/// whose api_base is one of their OpenAI-compatible endpoints (<c>…/openai</c>, <c>…/compatibility/…</c>) stays on
/// the OpenAI-compatible provider.
/// </summary>
public sealed class NativeProviders(GeminiProvider gemini, CohereProvider cohere, BedrockProvider bedrock)
{
    public IChatProvider? Chat(ModelDeployment deployment)
    {
        ArgumentNullException.ThrowIfNull(deployment);
        return deployment.Provider switch
        {
            "gemini" when !OpenAiCompatibleBase(deployment) => gemini,
            "cohere" or "cohere_chat" when !OpenAiCompatibleBase(deployment) => cohere,
            "bedrock" => bedrock,
            _ => null,
        };
    }

    public IEmbeddingProvider? Embeddings(ModelDeployment deployment)
    {
        ArgumentNullException.ThrowIfNull(deployment);
        return deployment.Provider switch
        {
            "gemini" when !OpenAiCompatibleBase(deployment) => gemini,
            "cohere" or "cohere_chat" when !OpenAiCompatibleBase(deployment) => cohere,
            _ => null,
        };
    }

    private static bool OpenAiCompatibleBase(ModelDeployment deployment) =>
        deployment.ApiBase is { } apiBase &&
        (apiBase.TrimEnd('/').EndsWith("/openai", StringComparison.Ordinal) || apiBase.Contains("/compatibility", StringComparison.Ordinal));
}
