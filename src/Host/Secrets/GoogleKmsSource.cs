using System.Collections.Concurrent;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Broker.Config.Model;

namespace Broker.Host.Secrets;

/// <summary>
/// Google Cloud KMS (LiteLLM's google_kms, or <c>use_google_kms: true</c>): the named variable's value in the
/// environment is base64 ciphertext; the value used is its decryption by the key <c>GOOGLE_KMS_RESOURCE_NAME</c>
/// (<c>projects/*/locations/*/keyRings/*/cryptoKeys/*</c>) over the REST API, <c>POST /v1/{key}:decrypt</c>. Access
/// token as <see cref="GoogleApi"/> gets it.
/// <para>
/// Like LiteLLM, every name asked is tried: a value that is not base64, or that the key refuses as ciphertext, is used as
/// it is (with a warning for the latter). A name listed in <c>hosted_keys</c> must decrypt; otherwise the load fails.
/// </para>
/// </summary>
internal sealed class GoogleKmsSource : ISecretSource
{
    private readonly GoogleApi _google;
    private readonly Func<string, string?> _env;
    private readonly HashSet<string> _hosted;
    private readonly string _key;
    private readonly Uri _decrypt;
    private readonly ConcurrentDictionary<string, byte> _notes = new(StringComparer.Ordinal);

    public GoogleKmsSource(HttpClient http, Func<string, string?> env, string? endpoint, IReadOnlyCollection<string> hostedKeys, TimeProvider time)
    {
        _env = env;
        _hosted = new HashSet<string>(hostedKeys, StringComparer.Ordinal);
        _google = new GoogleApi(http, env, time, KeyManagementSystems.GoogleKms);
        _key = HashicorpVaultSource.NonEmpty(env("GOOGLE_KMS_RESOURCE_NAME"))?.Trim().Trim('/')
            ?? throw new SecretManagerException("google_kms needs GOOGLE_KMS_RESOURCE_NAME (projects/<p>/locations/<l>/keyRings/<r>/cryptoKeys/<k>)");
        if (!_key.StartsWith("projects/", StringComparison.Ordinal) || !_key.Contains("/cryptoKeys/", StringComparison.Ordinal))
        {
            throw new SecretManagerException($"google_kms: GOOGLE_KMS_RESOURCE_NAME '{_key}' is not a key name (projects/<p>/locations/<l>/keyRings/<r>/cryptoKeys/<k>)");
        }

        var baseUri = new Uri((endpoint ?? "https://cloudkms.googleapis.com").TrimEnd('/') + "/");
        _decrypt = new Uri(baseUri, "v1/" + string.Join('/', _key.Split('/').Select(Uri.EscapeDataString)) + ":decrypt");
    }

    public string System => KeyManagementSystems.GoogleKms;

    public IReadOnlyCollection<string> Notes => [.. _notes.Keys.Order(StringComparer.Ordinal)];

    public async Task<string?> ReadAsync(string name, CancellationToken cancellationToken)
    {
        if (HashicorpVaultSource.NonEmpty(_env(name))?.Trim() is not { } value)
        {
            return null;
        }

        if (!IsBase64(value))
        {
            return _hosted.Contains(name) ? throw new SecretManagerException($"google_kms: {name} is not base64 ciphertext") : null;
        }

        using var request = new HttpRequestMessage(HttpMethod.Post, _decrypt)
        {
            Content = new StringContent(new JsonObject { ["ciphertext"] = value }.ToJsonString(), Encoding.UTF8, "application/json"),
        };
        var (status, text) = await _google.CallRawAsync(request, cancellationToken);
        if (status == HttpStatusCode.BadRequest && !_hosted.Contains(name))
        {
            // INVALID_ARGUMENT: not ciphertext of this key, e.g. a plain value that happens to be base64 (hex API keys are)
            _notes.TryAdd($"{name} (os.environ/{name}) is not ciphertext of {_key} (Cloud KMS answered 400): its value is used as it is; " +
                "list the encrypted names in key_management_settings.hosted_keys to make this an error", 0);
            return null;
        }

        if (status != HttpStatusCode.OK)
        {
            throw new SecretManagerException($"google_kms could not decrypt {name} with {_key}: Cloud KMS answered {(int)status}: {HashicorpVaultSource.Shorten(text)}");
        }

        var plaintext = _google.Json(text)?["plaintext"]?.GetValue<string>()
            ?? throw new SecretManagerException($"google_kms: the decryption of {name} has no plaintext");
        return Encoding.UTF8.GetString(Convert.FromBase64String(plaintext));
    }

    /// <summary>Canonical base64 (decodes, and encodes back to the same text), LiteLLM's test for ciphertext.</summary>
    internal static bool IsBase64(string value)
    {
        var bytes = new byte[value.Length];
        return Convert.TryFromBase64String(value, bytes, out var written) && written > 0
            && string.Equals(Convert.ToBase64String(bytes, 0, written), value, StringComparison.Ordinal);
    }
}
