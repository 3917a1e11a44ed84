using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.Logging;

namespace Broker.TestKit;

/// <summary>
/// Azure Key Vault and Microsoft Entra ID as a client reaches them from behind an HTTPS proxy: an HTTP CONNECT proxy on
/// 127.0.0.1 (<see cref="ProxyUrl"/>, for HTTPS_PROXY) tunnels every host to one Kestrel server that answers over TLS
/// with a certificate for <see cref="VaultHost"/> and login.microsoftonline.com, issued by a CA of its own
/// (<see cref="WriteCaPem"/>, for SSL_CERT_FILE). The server speaks Key Vault's secrets API
/// (<c>GET /secrets/{name}/?api-version=...</c>: 401 with the bearer challenge first, then the secret bundle for the
/// token it issued) and Entra's client-credentials token endpoint (<c>POST /{tenant}/oauth2/v2.0/token</c>).
/// A client thus uses Azure's real names and challenge checks; only the proxy and the trusted CA differ.
/// </summary>
public sealed class FakeAzureKeyVault : IAsyncDisposable
{
    public const string TenantId = "72f988bf-0000-4000-8000-00000000b0b0";
    public const string ClientId = "11111111-2222-4333-8444-555555555555";
    public const string ClientSecret = "fake-client-secret";
    public const string VaultHost = "broker-test.vault.azure.net";

    private readonly ConcurrentQueue<CapturedRequest> _requests = new();
    private readonly ConcurrentQueue<string> _tunnels = new();
    private readonly X509Certificate2 _ca;
    private readonly X509Certificate2 _server;
    private readonly TcpListener _proxy = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stop = new();
    private WebApplication? _app;
    private int _serverPort;
    private Task? _accepting;

    private FakeAzureKeyVault()
    {
        (_ca, _server) = Certificates();
    }

    /// <summary>Secrets by their Key Vault name.</summary>
    public ConcurrentDictionary<string, string> Secrets { get; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>The access token the fake hands out and accepts.</summary>
    public string AccessToken { get; } = "eyJ0eXAiOiJKV1QifQ.fake-key-vault-token." + Guid.NewGuid().ToString("N");

    /// <summary>The vault's URL as Azure names it (AZURE_KEY_VAULT_URI).</summary>
    public static string VaultUri => $"https://{VaultHost}/";

    /// <summary>The CONNECT proxy's URL (HTTPS_PROXY).</summary>
    public string ProxyUrl => $"http://127.0.0.1:{((IPEndPoint)_proxy.LocalEndpoint).Port}";

    public IReadOnlyCollection<CapturedRequest> Requests => _requests;

    /// <summary>The host:port of every CONNECT the proxy tunnelled.</summary>
    public IReadOnlyCollection<string> Tunnels => _tunnels;

    public static async Task<FakeAzureKeyVault> StartAsync()
    {
        var fake = new FakeAzureKeyVault();
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0, l =>
        {
            l.Protocols = HttpProtocols.Http1AndHttp2;
            l.UseHttps(fake._server);
        }));
        builder.Logging.ClearProviders();
        fake._app = builder.Build();
        fake._app.Run(fake.HandleAsync);
        await fake._app.StartAsync();
        fake._serverPort = new Uri(fake._app.Urls.First()).Port;
        fake._proxy.Start();
        fake._accepting = fake.AcceptAsync();
        return fake;
    }

    /// <summary>The CA certificate (PEM) that issued the server's certificate: trust it and the fake is Azure.</summary>
    public string WriteCaPem(string path)
    {
        File.WriteAllText(path, _ca.ExportCertificatePem() + "\n");
        return path;
    }

    private async Task HandleAsync(HttpContext http)
    {
        var body = await new StreamReader(http.Request.Body).ReadToEndAsync(http.RequestAborted);
        var headers = http.Request.Headers.ToDictionary(h => h.Key.ToLowerInvariant(), h => h.Value.ToString());
        var path = http.Request.Path.Value ?? "";
        _requests.Enqueue(new CapturedRequest(http.Request.Method, path, path,
            http.Request.QueryString.Value ?? "", headers, Encoding.UTF8.GetBytes(body)));
        var host = http.Request.Host.Host;
        if (host == "login.microsoftonline.com" && path == $"/{TenantId}/oauth2/v2.0/token" && HttpMethods.IsPost(http.Request.Method))
        {
            await TokenAsync(http, body);
        }
        else if (host == VaultHost && path.StartsWith("/secrets/", StringComparison.Ordinal) && HttpMethods.IsGet(http.Request.Method))
        {
            await SecretAsync(http, path["/secrets/".Length..].TrimEnd('/'));
        }
        else
        {
            http.Response.StatusCode = 404;
            await http.Response.WriteAsJsonAsync(new JsonObject { ["error"] = new JsonObject { ["code"] = "NotFound", ["message"] = $"{host}{path}" } });
        }
    }

    private async Task TokenAsync(HttpContext http, string body)
    {
        using var reader = new FormReader(body);
        var form = (await reader.ReadFormAsync(http.RequestAborted)).ToDictionary(f => f.Key, f => f.Value.ToString());
        if (form.GetValueOrDefault("grant_type") != "client_credentials" || form.GetValueOrDefault("client_id") != ClientId
            || form.GetValueOrDefault("client_secret") != ClientSecret)
        {
            http.Response.StatusCode = 401;
            await http.Response.WriteAsJsonAsync(new JsonObject
            {
                ["error"] = "invalid_client",
                ["error_description"] = "AADSTS7000215: Invalid client secret provided.",
                ["error_codes"] = new JsonArray(7000215),
            });
            return;
        }

        await http.Response.WriteAsJsonAsync(new JsonObject
        {
            ["token_type"] = "Bearer",
            ["expires_in"] = 3599,
            ["ext_expires_in"] = 3599,
            ["access_token"] = AccessToken,
        });
    }

    private async Task SecretAsync(HttpContext http, string name)
    {
        if (http.Request.Headers.Authorization.ToString() != "Bearer " + AccessToken)
        {
            // Key Vault's challenge: where to get a token, and for which resource
            http.Response.StatusCode = 401;
            http.Response.Headers.WWWAuthenticate =
                $"Bearer authorization=\"https://login.microsoftonline.com/{TenantId}\", resource=\"https://vault.azure.net\"";
            await http.Response.WriteAsJsonAsync(new JsonObject
            {
                ["error"] = new JsonObject { ["code"] = "Unauthorized", ["message"] = "AKV10000: Request is missing a Bearer or PoP token." },
            });
            return;
        }

        if (name.Contains('/', StringComparison.Ordinal) || !Secrets.TryGetValue(name, out var value))
        {
            http.Response.StatusCode = 404;
            await http.Response.WriteAsJsonAsync(new JsonObject
            {
                ["error"] = new JsonObject
                {
                    ["code"] = "SecretNotFound",
                    ["message"] = $"A secret with (name/id) {name} was not found in this key vault.",
                },
            });
            return;
        }

        await http.Response.WriteAsJsonAsync(new JsonObject
        {
            ["value"] = value,
            ["id"] = $"{VaultUri}secrets/{name}/0123456789abcdef0123456789abcdef",
            ["attributes"] = new JsonObject { ["enabled"] = true, ["created"] = 1764800000, ["updated"] = 1764800000, ["recoveryLevel"] = "Recoverable+Purgeable" },
        });
    }

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await _proxy.AcceptTcpClientAsync(_stop.Token);
            }
            catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                return;
            }

            _ = TunnelAsync(client);
        }
    }

    /// <summary>One CONNECT: answers 200 and relays bytes both ways between the client and the fake's TLS server.</summary>
    private async Task TunnelAsync(TcpClient client)
    {
        using (client)
        {
            try
            {
                var stream = client.GetStream();
                var head = new StringBuilder();
                var one = new byte[1];
                while (!head.ToString().EndsWith("\r\n\r\n", StringComparison.Ordinal) && head.Length < 8192)
                {
                    if (await stream.ReadAsync(one, _stop.Token) == 0)
                    {
                        return;
                    }

                    head.Append((char)one[0]);
                }

                var requestLine = head.ToString().Split("\r\n")[0].Split(' ');
                if (requestLine.Length < 2 || requestLine[0] != "CONNECT")
                {
                    await stream.WriteAsync("HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n"u8.ToArray(), _stop.Token);
                    return;
                }

                _tunnels.Enqueue(requestLine[1]);
                using var upstream = new TcpClient();
                await upstream.ConnectAsync(IPAddress.Loopback, _serverPort, _stop.Token);
                await stream.WriteAsync("HTTP/1.1 200 Connection established\r\n\r\n"u8.ToArray(), _stop.Token);
                var target = upstream.GetStream();
                await Task.WhenAny(stream.CopyToAsync(target, _stop.Token), target.CopyToAsync(stream, _stop.Token));
            }
            catch (Exception ex) when (ex is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
            {
                // the client or the server closed the tunnel
            }
        }
    }

    /// <summary>A CA of the fake's own and a server certificate it issued for the vault and the login host.</summary>
    private static (X509Certificate2 Ca, X509Certificate2 Server) Certificates()
    {
        var now = DateTimeOffset.UtcNow;
        using var caKey = RSA.Create(2048);
        var caRequest = new CertificateRequest("CN=Broker test CA", caKey, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        caRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        caRequest.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(caRequest.PublicKey, false));
        var ca = caRequest.CreateSelfSigned(now.AddDays(-1), now.AddDays(7));

        using var serverKey = RSA.Create(2048);
        var serverRequest = new CertificateRequest($"CN={VaultHost}", serverKey, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var names = new SubjectAlternativeNameBuilder();
        names.AddDnsName(VaultHost);
        names.AddDnsName("login.microsoftonline.com");
        serverRequest.CertificateExtensions.Add(names.Build());
        serverRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, false));
        serverRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyEncipherment, true));
        serverRequest.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        serverRequest.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(ca, true, false));
        var serial = RandomNumberGenerator.GetBytes(16);
        serial[0] &= 0x7f;
        using var issued = serverRequest.Create(ca, now.AddDays(-1), now.AddDays(6), serial);
        var server = issued.CopyWithPrivateKey(serverKey);
        // Kestrel on Linux wants a certificate whose key it can use across the handshake: round-trip through PKCS#12
        var loaded = X509CertificateLoader.LoadPkcs12(server.Export(X509ContentType.Pkcs12), null);
        server.Dispose();
        return (ca, loaded);
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _proxy.Stop();
        if (_accepting is not null)
        {
            await _accepting;
        }

        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }

        _ca.Dispose();
        _server.Dispose();
        _stop.Dispose();
    }
}
