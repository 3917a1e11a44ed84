using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Broker.Config.Model;

namespace Broker.Host.Secrets;

/// <summary>
/// Google Cloud Secret Manager's REST API: <c>GET /v1/projects/{project}/secrets/{NAME}/versions/latest:access</c>,
/// the value in <c>payload.data</c> (base64). Project from <c>GOOGLE_SECRET_MANAGER_PROJECT_ID</c> (else
/// <c>GOOGLE_CLOUD_PROJECT</c>). Access token from the service-account key file in
/// <c>GOOGLE_APPLICATION_CREDENTIALS</c> (a signed JWT exchanged at its <c>token_uri</c>), else from the metadata
/// server (<c>GCE_METADATA_HOST</c>, default metadata.google.internal).
/// </summary>
internal sealed class GoogleSecretManagerSource : ISecretSource
{
    private const string Scope = "https://www.googleapis.com/auth/cloud-platform";
    private readonly HttpClient _http;
    private readonly Func<string, string?> _env;
    private readonly TimeProvider _time;
    private readonly string _project;
    private readonly Uri _endpoint;
    private (string Token, DateTimeOffset Expires)? _token;

    public GoogleSecretManagerSource(HttpClient http, Func<string, string?> env, string? endpoint, TimeProvider time)
    {
        _http = http;
        _env = env;
        _time = time;
        _project = HashicorpVaultSource.NonEmpty(env("GOOGLE_SECRET_MANAGER_PROJECT_ID")) ?? HashicorpVaultSource.NonEmpty(env("GOOGLE_CLOUD_PROJECT"))
            ?? throw new SecretManagerException("google_secret_manager needs GOOGLE_SECRET_MANAGER_PROJECT_ID (the Google Cloud project id)");
        _endpoint = new Uri((endpoint ?? "https://secretmanager.googleapis.com").TrimEnd('/') + "/");
    }

    public string System => KeyManagementSystems.GoogleSecretManager;

    public async Task<string?> ReadAsync(string name, CancellationToken cancellationToken)
    {
        var token = await TokenAsync(cancellationToken);
        using var request = new HttpRequestMessage(HttpMethod.Get,
            new Uri(_endpoint, $"v1/projects/{Uri.EscapeDataString(_project)}/secrets/{Uri.EscapeDataString(name)}/versions/latest:access"));
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        var body = await SendAsync(request, allowNotFound: true, cancellationToken);
        if (body is null)
        {
            return null;
        }

        var data = body["payload"]?["data"]?.GetValue<string>()
            ?? throw new SecretManagerException($"google_secret_manager: the secret {name} has no payload.data");
        return Encoding.UTF8.GetString(Convert.FromBase64String(data));
    }

    private async Task<string> TokenAsync(CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow();
        if (_token is { } cached && cached.Expires > now.AddMinutes(1))
        {
            return cached.Token;
        }

        JsonNode? answer;
        if (HashicorpVaultSource.NonEmpty(_env("GOOGLE_APPLICATION_CREDENTIALS")) is { } file)
        {
            JsonNode key;
            try
            {
                key = JsonNode.Parse(await File.ReadAllTextAsync(file, cancellationToken))!;
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or global::System.Text.Json.JsonException)
            {
                throw new SecretManagerException($"google_secret_manager cannot read GOOGLE_APPLICATION_CREDENTIALS ({file}): {ex.Message}", ex);
            }

            var email = key["client_email"]?.GetValue<string>();
            var pem = key["private_key"]?.GetValue<string>();
            if (email is null || pem is null)
            {
                throw new SecretManagerException("google_secret_manager: GOOGLE_APPLICATION_CREDENTIALS is not a service-account key (client_email, private_key)");
            }

            var tokenUri = key["token_uri"]?.GetValue<string>() ?? "https://oauth2.googleapis.com/token";
            using var request = new HttpRequestMessage(HttpMethod.Post, tokenUri)
            {
                Content = new FormUrlEncodedContent(new Dictionary<string, string>
                {
                    ["grant_type"] = "urn:ietf:params:oauth:grant-type:jwt-bearer",
                    ["assertion"] = Assertion(email, pem, tokenUri, now),
                }),
            };
            answer = await SendAsync(request, allowNotFound: false, cancellationToken);
        }
        else
        {
            var host = HashicorpVaultSource.NonEmpty(_env("GCE_METADATA_HOST")) ?? "metadata.google.internal";
            using var request = new HttpRequestMessage(HttpMethod.Get, $"http://{host}/computeMetadata/v1/instance/service-accounts/default/token");
            request.Headers.TryAddWithoutValidation("Metadata-Flavor", "Google");
            answer = await SendAsync(request, allowNotFound: false, cancellationToken);
        }

        var token = answer?["access_token"]?.GetValue<string>()
            ?? throw new SecretManagerException("google_secret_manager: the token endpoint answered no access_token");
        var seconds = answer?["expires_in"]?.GetValue<int>() ?? 3600;
        _token = (token, now.AddSeconds(seconds));
        return token;
    }

    /// <summary>The service account's signed JWT (RS256) asking for the cloud-platform scope.</summary>
    private static string Assertion(string email, string pem, string audience, DateTimeOffset now)
    {
        var header = Base64Url("""{"alg":"RS256","typ":"JWT"}"""u8.ToArray());
        var claims = Base64Url(Encoding.UTF8.GetBytes(new JsonObject
        {
            ["iss"] = email,
            ["scope"] = Scope,
            ["aud"] = audience,
            ["iat"] = now.ToUnixTimeSeconds(),
            ["exp"] = now.AddHours(1).ToUnixTimeSeconds(),
        }.ToJsonString()));
        using var rsa = RSA.Create();
        try
        {
            rsa.ImportFromPem(pem);
        }
        catch (ArgumentException ex)
        {
            throw new SecretManagerException("google_secret_manager: the service-account private_key is not a PEM RSA key", ex);
        }

        var signature = rsa.SignData(Encoding.ASCII.GetBytes(header + "." + claims), HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        return header + "." + claims + "." + Base64Url(signature);
    }

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    private async Task<JsonNode?> SendAsync(HttpRequestMessage request, bool allowNotFound, CancellationToken cancellationToken)
    {
        HttpResponseMessage response;
        try
        {
            response = await _http.SendAsync(request, cancellationToken);
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
        {
            throw new SecretManagerException($"google_secret_manager: {request.RequestUri?.GetLeftPart(UriPartial.Authority)} is unreachable: {ex.Message}", ex);
        }

        using (response)
        {
            var text = await response.Content.ReadAsStringAsync(cancellationToken);
            if (allowNotFound && response.StatusCode == HttpStatusCode.NotFound)
            {
                return null;
            }

            if (!response.IsSuccessStatusCode)
            {
                throw new SecretManagerException($"google_secret_manager: {request.RequestUri?.GetLeftPart(UriPartial.Path)} answered {(int)response.StatusCode}: {HashicorpVaultSource.Shorten(text)}");
            }

            try
            {
                return JsonNode.Parse(text);
            }
            catch (global::System.Text.Json.JsonException ex)
            {
                throw new SecretManagerException("google_secret_manager answered something that is not JSON", ex);
            }
        }
    }
}
