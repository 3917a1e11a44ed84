using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Broker.TestKit;

/// <summary>The user a <see cref="FakeOidcServer"/> signs in on its next authorization request.</summary>
public sealed record FakeOidcUser(string Subject, string? Email, string Name = "Test User", IReadOnlyList<string>? Roles = null, bool? EmailVerified = true);

/// <summary>
/// A real OpenID Connect provider on 127.0.0.1 for sign-in tests: discovery, <c>/authorize</c> (signs in
/// <see cref="NextUser"/> at once and redirects back with a code and the state), <c>/token</c> (checks the client,
/// redirect URI and the PKCE S256 verifier; answers an RS256 id_token with the nonce), <c>/jwks</c> and <c>/userinfo</c>.
/// <see cref="StartGitHubAsync"/> plays GitHub's OAuth2 instead (<c>/login/oauth/authorize</c>,
/// <c>/login/oauth/access_token</c>, <c>/user</c>, <c>/user/emails</c>). Knobs break one thing at a time.
/// </summary>
public sealed class FakeOidcServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly RSA _key = RSA.Create(2048);
    private readonly RSA _otherKey = RSA.Create(2048);
    private readonly ConcurrentDictionary<string, Grant> _codes = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, FakeOidcUser> _tokens = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<IReadOnlyDictionary<string, string>> _authorizations = new();
    private readonly ConcurrentQueue<IReadOnlyDictionary<string, string>> _tokenRequests = new();

    private FakeOidcServer(WebApplication app, bool gitHub, string clientId, string clientSecret)
    {
        _app = app;
        IsGitHub = gitHub;
        ClientId = clientId;
        ClientSecret = clientSecret;
    }

    public bool IsGitHub { get; }

    public string ClientId { get; }

    public string ClientSecret { get; }

    /// <summary>Base URL and issuer, e.g. http://127.0.0.1:41234 (no trailing slash).</summary>
    public string Issuer { get; private set; } = "";

    /// <summary>Who the next authorization request signs in.</summary>
    public FakeOidcUser NextUser { get; set; } = new("user-1", "user1@example.com");

    /// <summary>Redirect back with this state instead of the one the client sent.</summary>
    public string? ReplaceState { get; set; }

    /// <summary>Sign the id_token with a key that is not in the JWKS.</summary>
    public bool SignWithUnknownKey { get; set; }

    /// <summary>Put this <c>aud</c> in the id_token instead of the client id.</summary>
    public string? Audience { get; set; }

    /// <summary>The query of every authorization request, in order.</summary>
    public IReadOnlyList<IReadOnlyDictionary<string, string>> Authorizations => _authorizations.ToList();

    /// <summary>The form of every token request, in order.</summary>
    public IReadOnlyList<IReadOnlyDictionary<string, string>> TokenRequests => _tokenRequests.ToList();

    public static Task<FakeOidcServer> StartAsync(string clientId = "broker-test-client", string clientSecret = "broker-test-secret") =>
        StartAsync(false, clientId, clientSecret);

    public static Task<FakeOidcServer> StartGitHubAsync(string clientId = "broker-github-client", string clientSecret = "broker-github-secret") =>
        StartAsync(true, clientId, clientSecret);

    private static async Task<FakeOidcServer> StartAsync(bool gitHub, string clientId, string clientSecret)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var fake = new FakeOidcServer(app, gitHub, clientId, clientSecret);
        if (gitHub)
        {
            app.MapGet("/login/oauth/authorize", fake.Authorize);
            app.MapPost("/login/oauth/access_token", (Delegate)fake.TokenAsync);
            app.MapGet("/user", fake.GitHubUser);
            app.MapGet("/user/emails", fake.GitHubEmails);
        }
        else
        {
            app.MapGet("/.well-known/openid-configuration", fake.Discovery);
            app.MapGet("/authorize", fake.Authorize);
            app.MapPost("/token", (Delegate)fake.TokenAsync);
            app.MapGet("/jwks", fake.Jwks);
            app.MapGet("/userinfo", fake.Userinfo);
        }

        await app.StartAsync();
        fake.Issuer = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First().TrimEnd('/');
        return fake;
    }

    private IResult Discovery() => Results.Text(new JsonObject
    {
        ["issuer"] = Issuer,
        ["authorization_endpoint"] = Issuer + "/authorize",
        ["token_endpoint"] = Issuer + "/token",
        ["userinfo_endpoint"] = Issuer + "/userinfo",
        ["jwks_uri"] = Issuer + "/jwks",
        ["response_types_supported"] = new JsonArray("code"),
        ["subject_types_supported"] = new JsonArray("public"),
        ["id_token_signing_alg_values_supported"] = new JsonArray("RS256"),
        ["code_challenge_methods_supported"] = new JsonArray("S256"),
    }.ToJsonString(), "application/json");

    private IResult Authorize(HttpContext http)
    {
        var query = http.Request.Query.ToDictionary(q => q.Key, q => q.Value.ToString(), StringComparer.Ordinal);
        _authorizations.Enqueue(query);
        if (query.GetValueOrDefault("client_id") != ClientId || query.GetValueOrDefault("response_type") != "code" ||
            !query.TryGetValue("redirect_uri", out var redirect) || !query.TryGetValue("state", out var state))
        {
            return Results.BadRequest("bad authorization request");
        }

        var code = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
        _codes[code] = new Grant(NextUser, redirect, query.GetValueOrDefault("nonce"), query.GetValueOrDefault("code_challenge"),
            query.GetValueOrDefault("code_challenge_method"));
        return Results.Redirect(QueryHelpers.AddQueryString(redirect, new Dictionary<string, string?> { ["code"] = code, ["state"] = ReplaceState ?? state }));
    }

    private async Task<IResult> TokenAsync(HttpContext http)
    {
        var form = (await http.Request.ReadFormAsync()).ToDictionary(f => f.Key, f => f.Value.ToString(), StringComparer.Ordinal);
        _tokenRequests.Enqueue(form);
        if (form.GetValueOrDefault("client_id") != ClientId || form.GetValueOrDefault("client_secret") != ClientSecret)
        {
            return Error("invalid_client");
        }

        if (form.GetValueOrDefault("grant_type") != "authorization_code" || !_codes.TryRemove(form.GetValueOrDefault("code") ?? "", out var grant) ||
            form.GetValueOrDefault("redirect_uri") != grant.RedirectUri)
        {
            return Error("invalid_grant");
        }

        if (grant.Challenge is not null)
        {
            var verifier = form.GetValueOrDefault("code_verifier") ?? "";
            var computed = Base64Url(SHA256.HashData(Encoding.ASCII.GetBytes(verifier)));
            if (grant.Method != "S256" || computed != grant.Challenge)
            {
                return Error("invalid_grant");
            }
        }

        var accessToken = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
        _tokens[accessToken] = grant.User;
        var answer = new JsonObject { ["access_token"] = accessToken, ["token_type"] = "Bearer", ["expires_in"] = 3600 };
        if (!IsGitHub)
        {
            answer["id_token"] = IdToken(grant);
        }

        return Results.Text(answer.ToJsonString(), "application/json");
    }

    private string IdToken(Grant grant)
    {
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var payload = new JsonObject
        {
            ["iss"] = Issuer,
            ["sub"] = grant.User.Subject,
            ["aud"] = Audience ?? ClientId,
            ["iat"] = now,
            ["exp"] = now + 300,
            ["nonce"] = grant.Nonce,
            ["name"] = grant.User.Name,
        };
        if (grant.User.Email is not null)
        {
            payload["email"] = grant.User.Email;
            if (grant.User.EmailVerified is { } payloadVerified)
            {
                payload["email_verified"] = payloadVerified;
            }
        }

        if (grant.User.Roles is { } roles)
        {
            payload["roles"] = new JsonArray(roles.Select(r => (JsonNode)r).ToArray());
        }

        var header = new JsonObject { ["alg"] = "RS256", ["typ"] = "JWT", ["kid"] = SignWithUnknownKey ? "other" : "k1" };
        var signingInput = Base64Url(Encoding.UTF8.GetBytes(header.ToJsonString())) + "." + Base64Url(Encoding.UTF8.GetBytes(payload.ToJsonString()));
        var signature = (SignWithUnknownKey ? _otherKey : _key).SignData(Encoding.ASCII.GetBytes(signingInput), HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        return signingInput + "." + Base64Url(signature);
    }

    private IResult Jwks()
    {
        var p = _key.ExportParameters(false);
        return Results.Text(new JsonObject
        {
            ["keys"] = new JsonArray(new JsonObject
            {
                ["kty"] = "RSA",
                ["use"] = "sig",
                ["alg"] = "RS256",
                ["kid"] = "k1",
                ["n"] = Base64Url(p.Modulus!),
                ["e"] = Base64Url(p.Exponent!),
            }),
        }.ToJsonString(), "application/json");
    }

    private IResult Userinfo(HttpContext http)
    {
        if (UserOf(http) is not { } user)
        {
            return Results.Unauthorized();
        }

        var info = new JsonObject { ["sub"] = user.Subject, ["name"] = user.Name };
        if (user.Email is not null)
        {
            info["email"] = user.Email;
            if (user.EmailVerified is { } infoVerified)
            {
                info["email_verified"] = infoVerified;
            }
        }

        return Results.Text(info.ToJsonString(), "application/json");
    }

    private IResult GitHubUser(HttpContext http) => UserOf(http) is { } user
        ? Results.Text(new JsonObject { ["id"] = long.Parse(user.Subject, System.Globalization.CultureInfo.InvariantCulture), ["login"] = user.Name, ["name"] = user.Name, ["email"] = null }.ToJsonString(), "application/json")
        : Results.Unauthorized();

    private IResult GitHubEmails(HttpContext http) => UserOf(http) is { } user
        ? Results.Text(new JsonArray(
            new JsonObject { ["email"] = "unverified-" + user.Email, ["primary"] = false, ["verified"] = false },
            new JsonObject { ["email"] = user.Email, ["primary"] = true, ["verified"] = user.EmailVerified ?? false }).ToJsonString(), "application/json")
        : Results.Unauthorized();

    private FakeOidcUser? UserOf(HttpContext http)
    {
        var authorization = http.Request.Headers.Authorization.ToString();
        return authorization.StartsWith("Bearer ", StringComparison.Ordinal) && _tokens.TryGetValue(authorization[7..], out var user) ? user : null;
    }

    private static IResult Error(string error) =>
        Results.Text(new JsonObject { ["error"] = error }.ToJsonString(), "application/json", statusCode: StatusCodes.Status400BadRequest);

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    public async ValueTask DisposeAsync()
    {
        await _app.DisposeAsync();
        _key.Dispose();
        _otherKey.Dispose();
    }

    private sealed record Grant(FakeOidcUser User, string RedirectUri, string? Nonce, string? Challenge, string? Method);
}
