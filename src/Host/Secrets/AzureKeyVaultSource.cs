using System.Collections.Concurrent;
using System.Text.RegularExpressions;
using Azure;
using Azure.Core;
using Azure.Identity;
using Azure.Security.KeyVault.Secrets;
using Broker.Config.Model;

namespace Broker.Host.Secrets;

/// <summary>
/// Azure Key Vault through Azure's own SDK (<c>SecretClient.GetSecret</c>): the secret named exactly like the variable,
/// as LiteLLM asks for it, so <c>os.environ/AZURE-API-KEY</c> reads the secret <c>AZURE-API-KEY</c>. Key Vault names hold
/// only letters, digits and dashes: a name with anything else (<c>OPENAI_API_KEY</c>) is not asked and comes from the
/// environment, with a warning (LiteLLM asks, fails and falls back the same way). Vault from
/// <c>AZURE_KEY_VAULT_URI</c>; credentials from <c>AZURE_CLIENT_ID</c> / <c>AZURE_CLIENT_SECRET</c> /
/// <c>AZURE_TENANT_ID</c> (<c>AZURE_AUTHORITY_HOST</c> for another cloud), else Azure's default chain (workload or managed
/// identity, Azure CLI).
/// </summary>
internal sealed partial class AzureKeyVaultSource : ISecretSource
{
    private readonly SecretClient _client;
    private readonly Uri _vault;
    private readonly ConcurrentDictionary<string, byte> _notes = new(StringComparer.Ordinal);

    public AzureKeyVaultSource(Func<string, string?> env, string? endpoint)
    {
        var vault = endpoint ?? HashicorpVaultSource.NonEmpty(env("AZURE_KEY_VAULT_URI"))
            ?? throw new SecretManagerException("azure_key_vault needs AZURE_KEY_VAULT_URI (the vault's URL, e.g. https://my-vault.vault.azure.net/)");
        if (!Uri.TryCreate(vault, UriKind.Absolute, out var vaultUri) || vaultUri.Scheme != Uri.UriSchemeHttps)
        {
            throw new SecretManagerException($"azure_key_vault: AZURE_KEY_VAULT_URI '{vault}' is not an https URL");
        }

        _vault = vaultUri;
        var retry = new Action<RetryOptions>(r =>
        {
            r.MaxRetries = 1;
            r.NetworkTimeout = TimeSpan.FromSeconds(10);
        });
        TokenCredential credential;
        if (HashicorpVaultSource.NonEmpty(env("AZURE_CLIENT_ID")) is { } clientId
            && HashicorpVaultSource.NonEmpty(env("AZURE_CLIENT_SECRET")) is { } clientSecret
            && HashicorpVaultSource.NonEmpty(env("AZURE_TENANT_ID")) is { } tenantId)
        {
            var options = new ClientSecretCredentialOptions();
            retry(options.Retry);
            if (HashicorpVaultSource.NonEmpty(env("AZURE_AUTHORITY_HOST")) is { } authority)
            {
                options.AuthorityHost = Uri.TryCreate(authority, UriKind.Absolute, out var authorityUri)
                    ? authorityUri
                    : throw new SecretManagerException($"azure_key_vault: AZURE_AUTHORITY_HOST '{authority}' is not a URL");
            }

            credential = new ClientSecretCredential(tenantId, clientId, clientSecret, options);
        }
        else
        {
            var options = new DefaultAzureCredentialOptions();
            retry(options.Retry);
            credential = new DefaultAzureCredential(options);
        }

        var clientOptions = new SecretClientOptions();
        retry(clientOptions.Retry);
        _client = new SecretClient(vaultUri, credential, clientOptions);
    }

    public string System => KeyManagementSystems.AzureKeyVault;

    public IReadOnlyCollection<string> Notes => [.. _notes.Keys.Order(StringComparer.Ordinal)];

    public async Task<string?> ReadAsync(string name, CancellationToken cancellationToken)
    {
        if (!SecretName().IsMatch(name))
        {
            _notes.TryAdd($"{name} (os.environ/{name}) cannot be a Key Vault secret name (letters, digits and dashes only): it comes from the environment; " +
                $"write os.environ/{name.Replace('_', '-')} to read the secret {name.Replace('_', '-')}", 0);
            return null;
        }

        try
        {
            var secret = await _client.GetSecretAsync(name, cancellationToken: cancellationToken);
            return secret.Value.Value;
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            return null;
        }
        catch (Exception ex) when (ex is RequestFailedException { Status: 0 } or AggregateException or TaskCanceledException
            && !cancellationToken.IsCancellationRequested)
        {
            // Azure's retry policy ends a run of network failures with an AggregateException of them
            var first = ex is AggregateException all ? all.Flatten().InnerExceptions[0] : ex;
            throw new SecretManagerException($"azure_key_vault at {_vault} is unreachable: {FirstLine(first.Message)}", Network(ex));
        }
        catch (RequestFailedException ex)
        {
            throw new SecretManagerException($"azure_key_vault at {_vault} answered {ex.Status} ({ex.ErrorCode ?? "no error code"}) for {name}: {FirstLine(ex.Message)}", ex);
        }
        catch (AuthenticationFailedException ex)
        {
            throw new SecretManagerException($"azure_key_vault could not get a token for {_vault} from Microsoft Entra ID: {FirstLine(ex.Message)}", Network(ex));
        }
        catch (InvalidOperationException ex) when (ex.Message.Contains("challenge", StringComparison.OrdinalIgnoreCase))
        {
            // the vault's 401 challenge names a resource that is not the vault's domain (Azure's check, kept on)
            throw new SecretManagerException($"azure_key_vault at {_vault}: {FirstLine(ex.Message)}", ex);
        }
    }

    /// <summary>The network failure under <paramref name="ex"/> when there is one (the loader stops asking then), else <paramref name="ex"/>.</summary>
    private static Exception Network(Exception ex)
    {
        for (var inner = ex; inner is not null; inner = inner.InnerException)
        {
            if (inner is HttpRequestException)
            {
                return inner;
            }
        }

        return ex;
    }

    private static string FirstLine(string message) => HashicorpVaultSource.Shorten(message.Split('\n', 2)[0].Trim());

    [GeneratedRegex("^[0-9A-Za-z-]{1,127}$")]
    private static partial Regex SecretName();
}
