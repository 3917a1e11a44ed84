using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Broker.Host.Tests.Infrastructure;
using Broker.TestKit;

namespace Broker.Host.Tests.Security;

/// <summary>One embedded broker (every role, real PostgreSQL, a mock_response model) and a virtual key, shared by a class's tests.</summary>
public sealed class MalformedInputFixture : IAsyncLifetime
{
    public const string MasterKey = "sk-malformed-master";

    private TestDatabase _db = null!;

    public BrokerRunner Broker { get; private set; } = null!;

    /// <summary>A virtual key (the auth filter's full path: key lookup, model access, metadata tags).</summary>
    public string Key { get; private set; } = "";

    public async Task InitializeAsync()
    {
        _db = await TestDatabase.CreateAsync();
        Broker = await BrokerRunner.StartEmbeddedAsync($$"""
            model_list:
              - model_name: mocked
                litellm_params: { model: openai/gpt-4o-mini, mock_response: "fine" }
            router_settings:
              timeout: 20
            general_settings:
              master_key: {{MasterKey}}
              database_url: "{{_db.Url}}"
            """);
        using var request = new HttpRequestMessage(HttpMethod.Post, "key/generate") { Content = new StringContent("{}", Encoding.UTF8, "application/json") };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", MasterKey);
        using var response = await Broker.Http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, text);
        Key = JsonNode.Parse(text)!["key"]!.GetValue<string>();
    }

    public async Task DisposeAsync()
    {
        await Broker.DisposeAsync();
        await _db.DisposeAsync();
    }

    /// <summary>Sends raw bytes as a JSON body and reads the answer (status, text), failing after <paramref name="timeout"/>.</summary>
    public async Task<(int Status, string Text)> SendAsync(HttpMethod method, string path, byte[]? body, string? key = null, TimeSpan? timeout = null, string contentType = "application/json")
    {
        using var request = new HttpRequestMessage(method, path);
        if (body is not null)
        {
            request.Content = new ByteArrayContent(body);
            request.Content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        }

        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key ?? Key);
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(10));
        try
        {
            using var response = await Broker.Http.SendAsync(request, cts.Token);
            return ((int)response.StatusCode, await response.Content.ReadAsStringAsync(cts.Token));
        }
        catch (OperationCanceledException) when (cts.IsCancellationRequested)
        {
            throw new TimeoutException($"{method} {path} did not answer within {timeout ?? TimeSpan.FromSeconds(10)}");
        }
    }

    public Task<(int Status, string Text)> PostAsync(string path, string json, string? key = null, TimeSpan? timeout = null) =>
        SendAsync(HttpMethod.Post, path, Encoding.UTF8.GetBytes(json), key, timeout);
}
