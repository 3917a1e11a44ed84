using System.Text.Json.Nodes;
using Broker.Workers.Providers;
using Broker.Workers.Providers.Bedrock;
using Broker.Workers.Providers.Cohere;
using Broker.Workers.Providers.Gemini;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace Broker.Workers.Tests.Providers;

/// <summary>The native providers as the Workers role builds them (real HttpClient, a fake clock) plus stream helpers.</summary>
internal sealed class NativeProviderFixture : IAsyncDisposable
{
    private readonly ServiceProvider _services;

    public NativeProviderFixture(IReadOnlyDictionary<string, string>? environment = null)
    {
        var services = new ServiceCollection();
        services.AddHttpClient(ProviderHttp.ClientName);
        services.AddSingleton<TimeProvider>(Clock);
        services.AddSingleton<ProviderHttp>();
        services.AddSingleton<GeminiProvider>();
        services.AddSingleton<CohereProvider>();
        services.AddSingleton(sp => new BedrockProvider(
            sp.GetRequiredService<ProviderHttp>(), sp.GetRequiredService<TimeProvider>(),
            name => environment is not null && environment.TryGetValue(name, out var v) ? v : null));
        _services = services.BuildServiceProvider();
    }

    public FakeTimeProvider Clock { get; } = new(new DateTimeOffset(2024, 5, 1, 10, 0, 0, TimeSpan.Zero));

    public GeminiProvider Gemini => _services.GetRequiredService<GeminiProvider>();

    public CohereProvider Cohere => _services.GetRequiredService<CohereProvider>();

    public BedrockProvider Bedrock => _services.GetRequiredService<BedrockProvider>();

    public static JsonObject Request(string json) => JsonNode.Parse(json)!.AsObject();

    public const string WeatherTool =
        """[{"type":"function","function":{"name":"get_weather","description":"Weather","parameters":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}}]""";

    public static async Task<List<JsonObject>> CollectAsync(ProviderStream stream)
    {
        Assert.Null(stream.Error);
        var chunks = new List<JsonObject>();
        await foreach (var chunk in stream.Chunks!)
        {
            chunks.Add(chunk);
        }

        return chunks;
    }

    public static string Text(IEnumerable<JsonObject> chunks) => string.Concat(chunks
        .Select(c => c["choices"]!.AsArray().FirstOrDefault()?["delta"]?["content"])
        .Select(n => n?.GetValue<string>() ?? ""));

    public static string? FinishReason(IEnumerable<JsonObject> chunks) => chunks
        .Select(c => c["choices"]!.AsArray().FirstOrDefault()?["finish_reason"]?.GetValue<string>())
        .LastOrDefault(f => f is not null);

    public async ValueTask DisposeAsync() => await _services.DisposeAsync();
}
