using System.Net;
using System.Text.Json.Nodes;
using Broker.Config.Model;

namespace Broker.Host.Secrets;

/// <summary>
/// HashiCorp Vault's KV v2 HTTP API: <c>GET {HCP_VAULT_ADDR}/v1/{HCP_VAULT_MOUNT_NAME}/data/{HCP_VAULT_PATH_PREFIX/}{name}</c>,
/// the value under <c>data.data.key</c> (LiteLLM's layout). Authenticates with <c>HCP_VAULT_TOKEN</c>, else AppRole
/// (<c>HCP_VAULT_APPROLE_ROLE_ID</c>, <c>HCP_VAULT_APPROLE_SECRET_ID</c>, <c>HCP_VAULT_APPROLE_MOUNT_PATH</c>);
/// <c>HCP_VAULT_NAMESPACE</c> is sent as <c>X-Vault-Namespace</c>.
/// </summary>
internal sealed class HashicorpVaultSource : ISecretSource
{
    private readonly HttpClient _http;
    private readonly Func<string, string?> _env;
    private readonly Uri _address;
    private string? _token;

    public HashicorpVaultSource(HttpClient http, Func<string, string?> env, string? endpoint)
    {
        _http = http;
        _env = env;
        var address = endpoint ?? NonEmpty(env("HCP_VAULT_ADDR")) ?? NonEmpty(env("VAULT_ADDR"))
            ?? throw new SecretManagerException("hashicorp_vault needs HCP_VAULT_ADDR (the Vault address, e.g. https://vault.example.com:8200)");
        _address = new Uri(address.TrimEnd('/') + "/");
        _token = NonEmpty(env("HCP_VAULT_TOKEN")) ?? NonEmpty(env("VAULT_TOKEN"));
    }

    public string System => KeyManagementSystems.HashicorpVault;

    public async Task<string?> ReadAsync(string name, CancellationToken cancellationToken)
    {
        var token = _token ?? await LoginAsync(cancellationToken);
        var mount = NonEmpty(_env("HCP_VAULT_MOUNT_NAME")) ?? "secret";
        var prefix = NonEmpty(_env("HCP_VAULT_PATH_PREFIX"))?.Trim('/');
        var secretPath = prefix is null ? name : $"{prefix}/{name}";
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(_address, $"v1/{mount.Trim('/')}/data/{secretPath}"));
        request.Headers.TryAddWithoutValidation("X-Vault-Token", token);
        AddNamespace(request);
        using var response = await SendAsync(request, cancellationToken);
        if (response.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }

        var body = await ReadBodyAsync(response, cancellationToken);
        return body?["data"]?["data"]?["key"]?.GetValue<string>()
            ?? throw new SecretManagerException($"hashicorp_vault: the secret at {secretPath} has no data.key value");
    }

    private async Task<string> LoginAsync(CancellationToken cancellationToken)
    {
        var roleId = NonEmpty(_env("HCP_VAULT_APPROLE_ROLE_ID"));
        var secretId = NonEmpty(_env("HCP_VAULT_APPROLE_SECRET_ID"));
        if (roleId is null || secretId is null)
        {
            throw new SecretManagerException("hashicorp_vault needs HCP_VAULT_TOKEN, or HCP_VAULT_APPROLE_ROLE_ID and HCP_VAULT_APPROLE_SECRET_ID");
        }

        var mount = NonEmpty(_env("HCP_VAULT_APPROLE_MOUNT_PATH"))?.Trim('/') ?? "approle";
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(_address, $"v1/auth/{mount}/login"))
        {
            Content = JsonContent.Create(new JsonObject { ["role_id"] = roleId, ["secret_id"] = secretId }),
        };
        AddNamespace(request);
        using var response = await SendAsync(request, cancellationToken);
        var body = await ReadBodyAsync(response, cancellationToken);
        _token = body?["auth"]?["client_token"]?.GetValue<string>()
            ?? throw new SecretManagerException("hashicorp_vault: the AppRole login answered no auth.client_token");
        return _token;
    }

    private void AddNamespace(HttpRequestMessage request)
    {
        if (NonEmpty(_env("HCP_VAULT_NAMESPACE")) is { } ns)
        {
            request.Headers.TryAddWithoutValidation("X-Vault-Namespace", ns);
        }
    }

    private async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        try
        {
            return await _http.SendAsync(request, cancellationToken);
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
        {
            throw new SecretManagerException($"hashicorp_vault at {_address} is unreachable: {ex.Message}", ex);
        }
    }

    private static async Task<JsonNode?> ReadBodyAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        var text = await response.Content.ReadAsStringAsync(cancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            throw new SecretManagerException($"hashicorp_vault answered {(int)response.StatusCode}: {Shorten(text)}");
        }

        try
        {
            return JsonNode.Parse(text);
        }
        catch (System.Text.Json.JsonException ex)
        {
            throw new SecretManagerException("hashicorp_vault answered something that is not JSON", ex);
        }
    }

    internal static string Shorten(string text) => text.Length <= 200 ? text : text[..200] + "...";

    internal static string? NonEmpty(string? value) => string.IsNullOrWhiteSpace(value) ? null : value;
}
