using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;

namespace Broker.Host.Secrets;

/// <summary>
/// What Google's REST APIs need from a key manager source: an OAuth access token for the cloud-platform scope, from the
/// service-account key file in <c>GOOGLE_APPLICATION_CREDENTIALS</c> (a signed JWT exchanged at its <c>token_uri</c>),
/// else from the metadata server (<c>GCE_METADATA_HOST</c>, default metadata.google.internal); and a JSON call whose
/// failures are <see cref="SecretManagerException"/>s naming the manager.
/// </summary>
internal sealed class GoogleApi(HttpClient http, Func<string, string?> env, TimeProvider time, string system)
{
    private const string Scope = "https://www.googleapis.com/auth/cloud-platform";
    private (string Token, DateTimeOffset Expires)? _token;

    /// <summary>Sends <paramref name="request"/> with the access token; its JSON answer, null for 404 when <paramref name="allowNotFound"/>.</summary>
    public async Task<JsonNode?> CallAsync(HttpRequestMessage request, bool allowNotFound, CancellationToken cancellationToken)
    {
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", await TokenAsync(cancellationToken));
        return await SendAsync(request, allowNotFound, cancellationToken);
    }

    /// <summary>Sends <paramref name="request"/> with the access token: the status and the answer's text, whatever the status.</summary>
    public async Task<(HttpStatusCode Status, string Text)> CallRawAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", await TokenAsync(cancellationToken));
        using var response = await SendRawAsync(request, cancellationToken);
        return (response.StatusCode, await response.Content.ReadAsStringAsync(cancellationToken));
    }

    private async Task<string> TokenAsync(CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        if (_token is { } cached && cached.Expires > now.AddMinutes(1))
        {
            return cached.Token;
        }

        JsonNode? answer;
        if (HashicorpVaultSource.NonEmpty(env("GOOGLE_APPLICATION_CREDENTIALS")) is { } file)
        {
            JsonNode key;
            try
            {
                key = JsonNode.Parse(await File.ReadAllTextAsync(file, cancellationToken))!;
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or global::System.Text.Json.JsonException)
            {
                throw new SecretManagerException($"{system} cannot read GOOGLE_APPLICATION_CREDENTIALS ({file}): {ex.Message}", ex);
            }

            var email = key["client_email"]?.GetValue<string>();
            var pem = key["private_key"]?.GetValue<string>();
            if (email is null || pem is null)
            {
                throw new SecretManagerException($"{system}: GOOGLE_APPLICATION_CREDENTIALS is not a service-account key (client_email, private_key)");
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
            var host = HashicorpVaultSource.NonEmpty(env("GCE_METADATA_HOST")) ?? "metadata.google.internal";
            using var request = new HttpRequestMessage(HttpMethod.Get, $"http://{host}/computeMetadata/v1/instance/service-accounts/default/token");
            request.Headers.TryAddWithoutValidation("Metadata-Flavor", "Google");
            answer = await SendAsync(request, allowNotFound: false, cancellationToken);
        }

        var token = answer?["access_token"]?.GetValue<string>()
            ?? throw new SecretManagerException($"{system}: the token endpoint answered no access_token");
        var seconds = answer?["expires_in"]?.GetValue<int>() ?? 3600;
        _token = (token, now.AddSeconds(seconds));
        return token;
    }

    /// <summary>The service account's signed JWT (RS256) asking for the cloud-platform scope.</summary>
    private string Assertion(string email, string pem, string audience, DateTimeOffset now)
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
            throw new SecretManagerException($"{system}: the service-account private_key is not a PEM RSA key", ex);
        }

        var signature = rsa.SignData(Encoding.ASCII.GetBytes(header + "." + claims), HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        return header + "." + claims + "." + Base64Url(signature);
    }

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    private async Task<HttpResponseMessage> SendRawAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        try
        {
            return await http.SendAsync(request, cancellationToken);
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
        {
            throw new SecretManagerException($"{system}: {request.RequestUri?.GetLeftPart(UriPartial.Authority)} is unreachable: {ex.Message}", ex);
        }
    }

    private async Task<JsonNode?> SendAsync(HttpRequestMessage request, bool allowNotFound, CancellationToken cancellationToken)
    {
        using var response = await SendRawAsync(request, cancellationToken);
        var text = await response.Content.ReadAsStringAsync(cancellationToken);
        if (allowNotFound && response.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }

        if (!response.IsSuccessStatusCode)
        {
            throw new SecretManagerException($"{system}: {request.RequestUri?.GetLeftPart(UriPartial.Path)} answered {(int)response.StatusCode}: {HashicorpVaultSource.Shorten(text)}");
        }

        return Json(text);
    }

    /// <summary>The answer's JSON, or a <see cref="SecretManagerException"/> saying it is not JSON.</summary>
    public JsonNode? Json(string text)
    {
        try
        {
            return JsonNode.Parse(text);
        }
        catch (global::System.Text.Json.JsonException ex)
        {
            throw new SecretManagerException($"{system} answered something that is not JSON", ex);
        }
    }
}
