using System.Text.Json.Nodes;
using Broker.Contracts.Inference;
using Broker.TestKit;
using Broker.Workers.Providers;
using Broker.Workers.Providers.OpenAi;
using Microsoft.Extensions.DependencyInjection;

namespace Broker.Workers.Tests.Providers;

/// <summary>The provider against a real HTTP fake on 127.0.0.1.</summary>
public sealed class OpenAiCompatibleProviderTests : IAsyncLifetime
{
    private FakeUpstream _upstream = null!;
    private ServiceProvider _services = null!;

    public async Task InitializeAsync()
    {
        _upstream = await FakeUpstream.StartOpenAiAsync();
        var services = new ServiceCollection();
        services.AddHttpClient(ProviderHttp.ClientName);
        services.AddSingleton(TimeProvider.System);
        services.AddSingleton<ProviderHttp>();
        services.AddSingleton<OpenAiCompatibleProvider>();
        _services = services.BuildServiceProvider();
    }

    public async Task DisposeAsync()
    {
        await _services.DisposeAsync();
        await _upstream.DisposeAsync();
    }

    private OpenAiCompatibleProvider Provider => _services.GetRequiredService<OpenAiCompatibleProvider>();

    [Fact]
    public async Task CompleteAsync_Azure_UsesDeploymentUrlApiVersionAndApiKeyHeader()
    {
        var deployment = TestDeployments.Create(model: "azure/my-gpt4o", apiBase: _upstream.BaseUrl, apiKey: "azure-key-123456789", apiVersion: "2024-06-01");
        var request = JsonNode.Parse("""{"model":"my-gpt4o","messages":[{"role":"user","content":"hi"}]}""")!.AsObject();

        var result = await Provider.CompleteAsync(new ProviderCall(deployment, "my-gpt4o", request, "gpt-4o"), CancellationToken.None);

        Assert.True(result.Succeeded);
        var seen = Assert.Single(_upstream.Requests);
        Assert.Equal("/openai/deployments/my-gpt4o/chat/completions", seen.Path);
        Assert.Equal("?api-version=2024-06-01", seen.Query);
        Assert.Equal("azure-key-123456789", seen.Headers["api-key"]);
        Assert.False(seen.Headers.ContainsKey("authorization"));
    }

    [Fact]
    public async Task CompleteAsync_SlowerThanDeploymentTimeout_ReturnsTimeoutClass()
    {
        _upstream.Delay = TimeSpan.FromSeconds(5);
        var deployment = TestDeployments.Create(apiBase: _upstream.BaseUrl + "/v1") with { Timeout = TimeSpan.FromMilliseconds(300) };
        var request = JsonNode.Parse("""{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}""")!.AsObject();

        var result = await Provider.CompleteAsync(new ProviderCall(deployment, "gpt-4o", request, "gpt-4o"), CancellationToken.None);

        Assert.Equal(ProviderErrorClass.Timeout, result.Error?.Class);
        Assert.Equal(408, result.Error?.StatusCode);
    }

    [Fact]
    public async Task CompleteAsync_NothingListening_ReturnsUnreachableServerError()
    {
        var deployment = TestDeployments.Create(apiBase: "http://127.0.0.1:1/v1");
        var request = JsonNode.Parse("""{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}""")!.AsObject();

        var result = await Provider.CompleteAsync(new ProviderCall(deployment, "gpt-4o", request, "gpt-4o"), CancellationToken.None);

        Assert.Equal(ProviderErrorClass.InternalServerError, result.Error?.Class);
        Assert.Equal(502, result.Error?.StatusCode);
        Assert.Equal("api_connection_error", result.Error?.Code);
    }
}
