using Broker.Workers.Providers;
using Broker.Workers.Providers.Anthropic;
using Broker.Workers.Providers.Bedrock;
using Broker.Workers.Providers.Cohere;
using Broker.Workers.Providers.Gemini;
using Broker.Workers.Providers.OpenAi;
using Microsoft.Extensions.DependencyInjection;

namespace Broker.Workers.Tests.Providers;

public sealed class ProviderResolverTests : IDisposable
{
    private readonly ServiceProvider _services;

    public ProviderResolverTests()
    {
        var services = new ServiceCollection();
        services.AddHttpClient(ProviderHttp.ClientName);
        services.AddSingleton(TimeProvider.System);
        services.AddSingleton<ProviderHttp>();
        services.AddProviderImplementations();
        _services = services.BuildServiceProvider();
    }

    public void Dispose() => _services.Dispose();

    private ProviderResolver Resolver => _services.GetRequiredService<ProviderResolver>();

    [Theory]
    [InlineData("gemini/gemini-2.0-flash", null, typeof(GeminiProvider))]
    [InlineData("gemini/gemini-2.0-flash", "https://generativelanguage.googleapis.com/v1beta/openai", typeof(OpenAiCompatibleProvider))]
    [InlineData("cohere/command-r", null, typeof(CohereProvider))]
    [InlineData("cohere_chat/command-r", null, typeof(CohereProvider))]
    [InlineData("cohere/command-r", "https://api.cohere.ai/compatibility/v1", typeof(OpenAiCompatibleProvider))]
    [InlineData("bedrock/anthropic.claude-3-haiku-20240307-v1:0", null, typeof(BedrockProvider))]
    [InlineData("bedrock/anthropic.claude-3-haiku-20240307-v1:0", "http://127.0.0.1:9999", typeof(BedrockProvider))]
    [InlineData("anthropic/claude-3-5-sonnet", null, typeof(AnthropicProvider))]
    [InlineData("openai/gpt-4o", null, typeof(OpenAiCompatibleProvider))]
    public void Resolve_ProviderPrefix_PicksNativeOrCompatibleImplementation(string model, string? apiBase, Type expected)
    {
        var provider = Resolver.Resolve(TestDeployments.Create(model: model, apiBase: apiBase), requestHasMock: false);

        Assert.IsType(expected, provider);
    }

    [Theory]
    [InlineData("gemini/text-embedding-004", typeof(GeminiProvider))]
    [InlineData("cohere/embed-english-v3.0", typeof(CohereProvider))]
    public void ResolveEmbeddings_NativeProvider_PicksIt(string model, Type expected) =>
        Assert.IsType(expected, Resolver.ResolveEmbeddings(TestDeployments.Create(model: model), requestHasMock: false));

    [Fact]
    public void ResolveEmbeddings_Bedrock_IsNotSupported() =>
        Assert.Null(Resolver.ResolveEmbeddings(TestDeployments.Create(model: "bedrock/amazon.titan-embed-text-v2:0", apiBase: "http://127.0.0.1:9"), requestHasMock: false));
}
