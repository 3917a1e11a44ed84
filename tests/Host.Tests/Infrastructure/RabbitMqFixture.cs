using System.Net.Http.Headers;
using System.Text;
using RabbitMQ.Client;
using Testcontainers.RabbitMq;

namespace Broker.Host.Tests.Infrastructure;

/// <summary>
/// The RabbitMQ the distributed tests use: RABBITMQ_URL when set (./test.sh starts the local one), else a
/// Testcontainers broker when a Docker engine answers, else a failure that says how to start one. Never a skip.
/// Each test gets its own virtual host, so tests' queues never meet.
/// </summary>
public sealed class RabbitMqFixture : IAsyncLifetime
{
    private RabbitMqContainer? _container;

    public Uri AmqpUrl { get; private set; } = null!;

    public Uri ManagementUrl { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        var url = Environment.GetEnvironmentVariable("RABBITMQ_URL");
        if (!string.IsNullOrWhiteSpace(url))
        {
            AmqpUrl = new Uri(url);
            ManagementUrl = new Uri(Environment.GetEnvironmentVariable("RABBITMQ_MANAGEMENT_URL") is { Length: > 0 } m
                ? m
                : $"http://guest:guest@{AmqpUrl.Host}:15672/");
        }
        else
        {
            try
            {
                _container = new RabbitMqBuilder("rabbitmq:3-management").WithPortBinding(15672, true).Build();
                await _container.StartAsync();
                AmqpUrl = new Uri(_container.GetConnectionString());
                ManagementUrl = new Uri($"http://{_container.Hostname}:{_container.GetMappedPublicPort(15672)}/");
            }
            catch (Exception ex)
            {
                throw new InvalidOperationException(
                    "RabbitMQ is not reachable: RABBITMQ_URL is not set and no Docker engine answers for Testcontainers. " +
                    "Run ./test.sh (it starts RabbitMQ, Redis and PostgreSQL), or `eval \"$(scripts/services.sh)\"` before `dotnet test`.", ex);
            }
        }

        try
        {
            var factory = new ConnectionFactory { Uri = AmqpUrl };
            await using var connection = await factory.CreateConnectionAsync();
        }
        catch (Exception ex)
        {
            throw new InvalidOperationException(
                $"RabbitMQ at {AmqpUrl.Host}:{AmqpUrl.Port} refused the connection: {ex.Message}. Run scripts/services.sh to start it.", ex);
        }
    }

    /// <summary>Creates a fresh virtual host (management API) and returns its amqp:// URL.</summary>
    public async Task<(Uri Url, string VirtualHost)> CreateVirtualHostAsync()
    {
        var name = "broker-test-" + Guid.NewGuid().ToString("N")[..12];
        using var http = ManagementClient();
        (await http.PutAsync($"api/vhosts/{name}", null)).EnsureSuccessStatusCode();
        var user = Uri.UnescapeDataString(AmqpUrl.UserInfo.Split(':')[0]);
        var permissions = new StringContent("{\"configure\":\".*\",\"write\":\".*\",\"read\":\".*\"}", Encoding.UTF8, "application/json");
        (await http.PutAsync($"api/permissions/{name}/{Uri.EscapeDataString(user)}", permissions)).EnsureSuccessStatusCode();
        var builder = new UriBuilder(AmqpUrl) { Path = "/" + name };
        return (builder.Uri, name);
    }

    /// <summary>The queues of a virtual host as the management API lists them (name, type, arguments, auto_delete...).</summary>
    public async Task<System.Text.Json.Nodes.JsonArray> GetQueuesAsync(string virtualHost)
    {
        using var http = ManagementClient();
        var text = await http.GetStringAsync($"api/queues/{Uri.EscapeDataString(virtualHost)}?columns=name,type,arguments,auto_delete,durable,exclusive");
        return System.Text.Json.Nodes.JsonNode.Parse(text)!.AsArray();
    }

    /// <summary>The names of a virtual host's exchanges (management API).</summary>
    public async Task<IReadOnlyList<string>> GetExchangeNamesAsync(string virtualHost)
    {
        using var http = ManagementClient();
        var text = await http.GetStringAsync($"api/exchanges/{Uri.EscapeDataString(virtualHost)}?columns=name");
        return System.Text.Json.Nodes.JsonNode.Parse(text)!.AsArray().Select(e => e!["name"]!.GetValue<string>()).ToList();
    }

    public async Task DeleteVirtualHostAsync(string name)
    {
        using var http = ManagementClient();
        await http.DeleteAsync($"api/vhosts/{name}");
    }

    private HttpClient ManagementClient()
    {
        var http = new HttpClient { BaseAddress = new Uri(ManagementUrl.GetLeftPart(UriPartial.Authority) + "/") };
        var userInfo = ManagementUrl.UserInfo.Length > 0 ? Uri.UnescapeDataString(ManagementUrl.UserInfo) : "guest:guest";
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes(userInfo)));
        return http;
    }

    public async Task DisposeAsync()
    {
        if (_container is not null)
        {
            await _container.DisposeAsync();
        }
    }
}
