using System.Collections.Concurrent;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.Logging;

namespace Broker.TestKit;

/// <summary>
/// A real HTTP server on 127.0.0.1 speaking three key managers' APIs: HashiCorp Vault KV v2
/// (<c>GET /v1/{mount}/data/{path}</c> with <c>X-Vault-Token</c>, AppRole login), AWS Secrets Manager
/// (<c>X-Amz-Target: secretsmanager.GetSecretValue</c>, SigV4 required), AWS KMS (<c>TrentService.Decrypt</c>:
/// a ciphertext is the bytes <c>kms:</c> + plaintext, see <see cref="Encrypt"/>), and Google's token endpoint, Secret
/// Manager (<c>versions/latest:access</c>) and Cloud KMS (<c>POST /v1/{key}:decrypt</c>, same ciphertext).
/// </summary>
public sealed class FakeSecretManager : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentQueue<CapturedRequest> _requests = new();

    private FakeSecretManager(WebApplication app) => _app = app;

    public string BaseUrl { get; private set; } = "";

    /// <summary>Secrets by name (Vault: the path under the mount; AWS: the SecretId).</summary>
    public ConcurrentDictionary<string, string> Secrets { get; } = new(StringComparer.Ordinal);

    /// <summary>The Vault token the fake accepts (AppRole login hands it out too).</summary>
    public string VaultToken { get; set; } = "vault-token-1";

    /// <summary>The AWS access key id the fake accepts in SigV4's Credential.</summary>
    public string AwsAccessKeyId { get; set; } = "AKIAFAKE";

    public IReadOnlyCollection<CapturedRequest> Requests => _requests;

    /// <summary>The Google access token the fake hands out at <c>/token</c> and accepts.</summary>
    public string GoogleToken { get; set; } = "ya29.fake-google-token";

    /// <summary>A Google service-account key file whose token_uri is this fake (a fresh RSA key), for GOOGLE_APPLICATION_CREDENTIALS.</summary>
    public string WriteGoogleServiceAccountFile(string path)
    {
        using var rsa = System.Security.Cryptography.RSA.Create(2048);
        File.WriteAllText(path, new JsonObject
        {
            ["type"] = "service_account",
            ["project_id"] = "broker-test",
            ["client_email"] = "broker@broker-test.iam.gserviceaccount.com",
            ["private_key"] = rsa.ExportPkcs8PrivateKeyPem(),
            ["token_uri"] = BaseUrl + "/token",
        }.ToJsonString());
        return path;
    }

    private static Dictionary<string, string> Form(string body)
    {
        using var reader = new FormReader(body);
        return reader.ReadForm().ToDictionary(f => f.Key, f => f.Value.ToString());
    }

    /// <summary>KMS ciphertext of <paramref name="plaintext"/> as this fake decrypts it, base64 (what the environment holds).</summary>
    public static string Encrypt(string plaintext) => Convert.ToBase64String(Encoding.UTF8.GetBytes("kms:" + plaintext));

    public static async Task<FakeSecretManager> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var fake = new FakeSecretManager(app);
        app.Run(fake.HandleAsync);
        await app.StartAsync();
        fake.BaseUrl = app.Urls.First().TrimEnd('/');
        return fake;
    }

    private async Task HandleAsync(HttpContext http)
    {
        var body = await new StreamReader(http.Request.Body).ReadToEndAsync(http.RequestAborted);
        var headers = http.Request.Headers.ToDictionary(h => h.Key.ToLowerInvariant(), h => h.Value.ToString());
        _requests.Enqueue(new CapturedRequest(http.Request.Method, http.Request.Path.Value ?? "", http.Request.Path.Value ?? "",
            http.Request.QueryString.Value ?? "", headers, Encoding.UTF8.GetBytes(body)));
        var path = http.Request.Path.Value ?? "";
        var target = http.Request.Headers["X-Amz-Target"].ToString();
        if (target.Length > 0)
        {
            await AwsAsync(http, target, body);
        }
        else if (path == "/token" && HttpMethods.IsPost(http.Request.Method))
        {
            // Google's OAuth token endpoint: a service account's signed JWT for an access token
            var form = Form(body);
            if (form.GetValueOrDefault("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer" || form.GetValueOrDefault("assertion")?.Split('.').Length != 3)
            {
                http.Response.StatusCode = 400;
                await http.Response.WriteAsJsonAsync(new JsonObject { ["error"] = "invalid_grant" });
                return;
            }

            await http.Response.WriteAsJsonAsync(new JsonObject { ["access_token"] = GoogleToken, ["expires_in"] = 3600, ["token_type"] = "Bearer" });
        }
        else if (path.StartsWith("/v1/projects/", StringComparison.Ordinal) && path.EndsWith(":decrypt", StringComparison.Ordinal) && HttpMethods.IsPost(http.Request.Method))
        {
            await GoogleDecryptAsync(http, body);
        }
        else if (path.StartsWith("/v1/projects/", StringComparison.Ordinal) && path.EndsWith("/versions/latest:access", StringComparison.Ordinal))
        {
            if (http.Request.Headers.Authorization.ToString() != "Bearer " + GoogleToken)
            {
                http.Response.StatusCode = 401;
                return;
            }

            var parts = path.Split('/');
            if (!Secrets.TryGetValue(parts[5], out var secret))
            {
                http.Response.StatusCode = 404;
                await http.Response.WriteAsJsonAsync(new JsonObject { ["error"] = new JsonObject { ["code"] = 404, ["status"] = "NOT_FOUND" } });
                return;
            }

            await http.Response.WriteAsJsonAsync(new JsonObject
            {
                ["name"] = $"projects/{parts[3]}/secrets/{parts[5]}/versions/1",
                ["payload"] = new JsonObject { ["data"] = Convert.ToBase64String(Encoding.UTF8.GetBytes(secret)) },
            });
        }
        else if (path.EndsWith("/login", StringComparison.Ordinal) && HttpMethods.IsPost(http.Request.Method))
        {
            await http.Response.WriteAsJsonAsync(new JsonObject { ["auth"] = new JsonObject { ["client_token"] = VaultToken } });
        }
        else if (path.StartsWith("/v1/", StringComparison.Ordinal) && path.Contains("/data/", StringComparison.Ordinal))
        {
            if (http.Request.Headers["X-Vault-Token"].ToString() != VaultToken)
            {
                http.Response.StatusCode = 403;
                await http.Response.WriteAsJsonAsync(new JsonObject { ["errors"] = new JsonArray("permission denied") });
                return;
            }

            var name = path[(path.IndexOf("/data/", StringComparison.Ordinal) + "/data/".Length)..];
            if (!Secrets.TryGetValue(name, out var value))
            {
                http.Response.StatusCode = 404;
                await http.Response.WriteAsJsonAsync(new JsonObject { ["errors"] = new JsonArray() });
                return;
            }

            await http.Response.WriteAsJsonAsync(new JsonObject
            {
                ["data"] = new JsonObject { ["data"] = new JsonObject { ["key"] = value }, ["metadata"] = new JsonObject { ["version"] = 1 } },
            });
        }
        else
        {
            http.Response.StatusCode = 404;
        }
    }

    /// <summary>Cloud KMS <c>cryptoKeys.decrypt</c>: the ciphertext is <see cref="Encrypt"/>'s, under the access token this fake handed out.</summary>
    private async Task GoogleDecryptAsync(HttpContext http, string body)
    {
        if (http.Request.Headers.Authorization.ToString() != "Bearer " + GoogleToken)
        {
            http.Response.StatusCode = 401;
            await http.Response.WriteAsJsonAsync(new JsonObject { ["error"] = new JsonObject { ["code"] = 401, ["status"] = "UNAUTHENTICATED" } });
            return;
        }

        var ciphertext = JsonNode.Parse(body)?["ciphertext"]?.GetValue<string>() ?? "";
        var blob = Encoding.UTF8.GetString(Convert.FromBase64String(ciphertext));
        if (!blob.StartsWith("kms:", StringComparison.Ordinal))
        {
            http.Response.StatusCode = 400;
            await http.Response.WriteAsJsonAsync(new JsonObject
            {
                ["error"] = new JsonObject { ["code"] = 400, ["message"] = "Decryption failed: the ciphertext is invalid.", ["status"] = "INVALID_ARGUMENT" },
            });
            return;
        }

        await http.Response.WriteAsJsonAsync(new JsonObject
        {
            ["plaintext"] = Convert.ToBase64String(Encoding.UTF8.GetBytes(blob["kms:".Length..])),
            ["usedPrimary"] = true,
            ["protectionLevel"] = "SOFTWARE",
        });
    }

    private async Task AwsAsync(HttpContext http, string target, string body)
    {
        var authorization = http.Request.Headers.Authorization.ToString();
        if (!authorization.StartsWith($"AWS4-HMAC-SHA256 Credential={AwsAccessKeyId}/", StringComparison.Ordinal) ||
            !authorization.Contains("Signature=", StringComparison.Ordinal))
        {
            await AwsErrorAsync(http, 400, "UnrecognizedClientException", "The security token included in the request is invalid.");
            return;
        }

        var request = JsonNode.Parse(body)!.AsObject();
        http.Response.ContentType = "application/x-amz-json-1.1";
        if (target == "secretsmanager.GetSecretValue")
        {
            var id = request["SecretId"]!.GetValue<string>();
            if (!Secrets.TryGetValue(id, out var value))
            {
                await AwsErrorAsync(http, 400, "ResourceNotFoundException", "Secrets Manager can't find the specified secret.");
                return;
            }

            await http.Response.WriteAsync(new JsonObject { ["ARN"] = "arn:aws:secretsmanager:us-east-1:1:secret:" + id, ["Name"] = id, ["SecretString"] = value, ["VersionId"] = "v1" }.ToJsonString());
        }
        else if (target == "TrentService.Decrypt")
        {
            var blob = Encoding.UTF8.GetString(Convert.FromBase64String(request["CiphertextBlob"]!.GetValue<string>()));
            if (!blob.StartsWith("kms:", StringComparison.Ordinal))
            {
                await AwsErrorAsync(http, 400, "InvalidCiphertextException", "invalid ciphertext");
                return;
            }

            await http.Response.WriteAsync(new JsonObject
            {
                ["KeyId"] = "arn:aws:kms:us-east-1:1:key/fake",
                ["Plaintext"] = Convert.ToBase64String(Encoding.UTF8.GetBytes(blob["kms:".Length..])),
                ["EncryptionAlgorithm"] = "SYMMETRIC_DEFAULT",
            }.ToJsonString());
        }
        else
        {
            await AwsErrorAsync(http, 400, "UnknownOperationException", target);
        }
    }

    private static async Task AwsErrorAsync(HttpContext http, int status, string type, string message)
    {
        http.Response.StatusCode = status;
        http.Response.ContentType = "application/x-amz-json-1.1";
        await http.Response.WriteAsync(new JsonObject { ["__type"] = type, ["message"] = message }.ToJsonString());
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
