using System.Net;
using System.Security.Cryptography;
using Broker.Host.Tests.Infrastructure;
using Broker.TestKit;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using static Broker.Host.Tests.Keys.KeysApi;

namespace Broker.Host.Tests.Keys;

/// <summary>enable_jwt_auth with a locally generated RSA signing key, by PEM and by a local JWKS server.</summary>
[Trait("Category", "Integration")]
public sealed class JwtAuthTests
{
    [Fact]
    public async Task Jwt_PublicKeyPem_ValidatesSignatureLifetimeAudienceAndMapsTeamAndAdmin()
    {
        using var rsa = RSA.Create(2048);
        using var other = RSA.Create(2048);
        await using var upstream = await FakeUpstream.StartOpenAiAsync();
        await using var db = await TestDatabase.CreateAsync();
        await using var broker = await BrokerRunner.StartEmbeddedAsync(Yaml(upstream.BaseUrl, db.Url, PemSettings(rsa, "team_id_jwt_field: team")));
        Assert.Equal(HttpStatusCode.OK, (await PostAsync(broker.Http, "team/new", MasterKey, new { team_id = "t-jwt", models = new[] { "o1" } })).Status);

        var member = Token(rsa, new() { ["sub"] = "alice", ["team"] = "t-jwt" });
        var admin = Token(rsa, new() { ["sub"] = "root", ["scope"] = "openid litellm_proxy_admin" });
        var expired = Token(rsa, new() { ["sub"] = "alice" }, expiresIn: TimeSpan.FromHours(-1));
        var wrongAudience = Token(rsa, new() { ["sub"] = "alice" }, audience: "someone-else");
        var forged = Token(other, new() { ["sub"] = "alice" });

        Assert.Equal(HttpStatusCode.OK, (await ChatAsync(broker.Http, member, "o1")).Status);
        var teamDenied = await ChatAsync(broker.Http, member, "gpt-4o");
        Assert.Equal(HttpStatusCode.Unauthorized, teamDenied.Status);
        AssertOpenAiError(teamDenied.Body, "team_model_access_denied");
        Assert.Equal(HttpStatusCode.Unauthorized, (await GetAsync(broker.Http, "key/list", member)).Status);
        Assert.Equal(HttpStatusCode.OK, (await GetAsync(broker.Http, "key/list", admin)).Status);
        foreach (var bad in new[] { expired, wrongAudience, forged })
        {
            var (status, body, _) = await ChatAsync(broker.Http, bad, "o1");
            Assert.Equal(HttpStatusCode.Unauthorized, status);
            Assert.StartsWith("Authentication Error: Invalid JWT", AssertOpenAiError(body)["message"]!.GetValue<string>());
        }

        Assert.Equal(HttpStatusCode.OK, (await ChatAsync(broker.Http, MasterKey, "gpt-4o")).Status);
    }

    [Fact]
    public async Task Jwt_JwksUrl_KeysFetchedFromTheJwksServer()
    {
        using var rsa = RSA.Create(2048);
        var jwks = Jwks(rsa);
        var fetched = 0;
        await using var server = await StartKeyServerAsync(app => app.MapGet("/jwks.json", () =>
        {
            Interlocked.Increment(ref fetched);
            return Results.Text(jwks, "application/json");
        }));
        var jwksUrl = AddressOf(server) + "/jwks.json";
        await using var upstream = await FakeUpstream.StartOpenAiAsync();
        await using var broker = await BrokerRunner.StartEmbeddedAsync(Yaml(upstream.BaseUrl, null, $$"""
              enable_jwt_auth: true
              litellm_jwtauth:
                public_key_url: "{{jwksUrl}}"
            """));

        var ok = await ChatAsync(broker.Http, Token(rsa, new() { ["sub"] = "bob" }, audience: null, issuer: null, keyId: "k1"), "o1");
        var forged = await ChatAsync(broker.Http, Token(RSA.Create(2048), new() { ["sub"] = "bob" }, audience: null, issuer: null, keyId: "k1"), "o1");

        Assert.Equal(HttpStatusCode.OK, ok.Status);
        Assert.Equal(HttpStatusCode.Unauthorized, forged.Status);
        Assert.True(fetched >= 1);
    }

    [Fact]
    public async Task Jwt_DiscoveryUrlWithRoleMappingsAndEnforcedRbac_KeysFromJwksUriGroupsMapToRoles()
    {
        using var rsa = RSA.Create(2048);
        var jwks = Jwks(rsa);
        var jwksFetched = 0;
        await using var server = await StartKeyServerAsync(app =>
        {
            app.MapGet("/oauth2/default/.well-known/openid-configuration", (HttpContext http) =>
                Results.Json(new { issuer = "https://issuer.test", jwks_uri = "/oauth2/default/v1/keys" }));
            app.MapGet("/oauth2/default/v1/keys", () =>
            {
                Interlocked.Increment(ref jwksFetched);
                return Results.Text(jwks, "application/json");
            });
        });
        var baseUrl = AddressOf(server);
        await using var upstream = await FakeUpstream.StartOpenAiAsync();
        // the shape of LiteLLM's okta_jwt_auth_config.yaml, with enforce_rbac on
        await using var broker = await BrokerRunner.StartEmbeddedAsync(Yaml(upstream.BaseUrl, null, $$"""
              enable_jwt_auth: true
              litellm_jwtauth:
                public_key_url: "{{baseUrl}}/oauth2/default/.well-known/openid-configuration"
                user_id_jwt_field: sub
                user_email_jwt_field: email
                audience: broker-test
                issuer: https://issuer.test
                roles_jwt_field: groups
                role_mappings:
                  - {role: broker-admins, internal_role: proxy_admin}
                  - {role: broker-users, internal_role: internal_user}
                user_id_upsert: true
                enforce_rbac: true
            """));

        var admin = Token(rsa, new() { ["sub"] = "ann", ["groups"] = new[] { "staff", "broker-admins" } });
        var user = Token(rsa, new() { ["sub"] = "bob", ["groups"] = new[] { "broker-users" } });
        var stranger = Token(rsa, new() { ["sub"] = "eve", ["groups"] = new[] { "staff" } });
        // with role_mappings, a group that happens to be called proxy_admin is not a role of its own
        var namedLikeAdmin = Token(rsa, new() { ["sub"] = "mal", ["groups"] = new[] { "proxy_admin", "broker-users" } });

        Assert.Equal(HttpStatusCode.OK, (await GetAsync(broker.Http, "key/list", admin)).Status);
        Assert.Equal(HttpStatusCode.OK, (await ChatAsync(broker.Http, user, "o1")).Status);
        Assert.Equal(HttpStatusCode.Unauthorized, (await GetAsync(broker.Http, "key/list", user)).Status);
        var refused = await ChatAsync(broker.Http, stranger, "o1");
        Assert.Equal(HttpStatusCode.Unauthorized, refused.Status);
        Assert.Contains("no role", AssertOpenAiError(refused.Body)["message"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Unauthorized, (await GetAsync(broker.Http, "key/list", namedLikeAdmin)).Status);
        Assert.True(jwksFetched >= 1);
    }

    [Fact]
    public async Task Jwt_TeamIdsAndAllowedRoles_FirstKnownTeamAppliesUnknownTeamsAndOtherRolesRefused()
    {
        using var rsa = RSA.Create(2048);
        await using var upstream = await FakeUpstream.StartOpenAiAsync();
        await using var db = await TestDatabase.CreateAsync();
        await using var broker = await BrokerRunner.StartEmbeddedAsync(Yaml(upstream.BaseUrl, db.Url,
            PemSettings(rsa, "team_ids_jwt_field: groups", "user_allowed_roles: [llm-users]")));
        Assert.Equal(HttpStatusCode.OK, (await PostAsync(broker.Http, "team/new", MasterKey, new { team_id = "t-known", models = new[] { "o1" } })).Status);

        // an IdP lists groups the gateway has never heard of first ("Everyone"): the known team is the caller's
        var member = Token(rsa, new() { ["sub"] = "alice", ["roles"] = new[] { "llm-users" }, ["groups"] = new[] { "Everyone", "t-known" } });
        var noKnownTeam = Token(rsa, new() { ["sub"] = "bob", ["roles"] = new[] { "llm-users" }, ["groups"] = new[] { "Everyone" } });
        var otherRole = Token(rsa, new() { ["sub"] = "carol", ["roles"] = new[] { "guests" }, ["groups"] = new[] { "t-known" } });

        Assert.Equal(HttpStatusCode.OK, (await ChatAsync(broker.Http, member, "o1")).Status);
        Assert.Equal(HttpStatusCode.Unauthorized, (await ChatAsync(broker.Http, member, "gpt-4o")).Status);
        var unknown = await ChatAsync(broker.Http, noKnownTeam, "o1");
        Assert.Equal(HttpStatusCode.Unauthorized, unknown.Status);
        Assert.Contains("none of the teams", AssertOpenAiError(unknown.Body)["message"]!.GetValue<string>(), StringComparison.Ordinal);
        var refused = await ChatAsync(broker.Http, otherRole, "o1");
        Assert.Equal(HttpStatusCode.Unauthorized, refused.Status);
        Assert.Contains("user_allowed_roles", AssertOpenAiError(refused.Body)["message"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Jwt_KeyServerUnreachable_RefusedSayingTheKeysCouldNotBeFetched()
    {
        using var rsa = RSA.Create(2048);
        await using var upstream = await FakeUpstream.StartOpenAiAsync();
        await using var broker = await BrokerRunner.StartEmbeddedAsync(Yaml(upstream.BaseUrl, null, """
              enable_jwt_auth: true
              litellm_jwtauth:
                public_key_url: "http://127.0.0.1:9/jwks.json"
            """));

        var (status, body, _) = await ChatAsync(broker.Http, Token(rsa, new() { ["sub"] = "bob" }, audience: null, issuer: null), "o1");

        Assert.Equal(HttpStatusCode.Unauthorized, status);
        Assert.Contains("could not be fetched", AssertOpenAiError(body)["message"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, (await ChatAsync(broker.Http, MasterKey, "o1")).Status);
    }

    /// <summary>general_settings lines for JWT auth by <paramref name="rsa"/>'s PEM public key, audience and issuer, plus <paramref name="more"/>.</summary>
    private static string PemSettings(RSA rsa, params string[] more)
    {
        var pem = rsa.ExportSubjectPublicKeyInfoPem().Replace("\n", "\\n", StringComparison.Ordinal);
        var lines = new[] { $"public_key: \"{pem}\"", "audience: broker-test", "issuer: https://issuer.test" }.Concat(more);
        return "  enable_jwt_auth: true\n  litellm_jwtauth:\n" + string.Concat(lines.Select(l => "    " + l + "\n"));
    }

    /// <summary>The JWKS of <paramref name="rsa"/>'s public key, key id k1.</summary>
    private static string Jwks(RSA rsa)
    {
        var parameters = rsa.ExportParameters(false);
        return $$"""{"keys":[{"kty":"RSA","use":"sig","alg":"RS256","kid":"k1","n":"{{Base64UrlEncoder.Encode(parameters.Modulus)}}","e":"{{Base64UrlEncoder.Encode(parameters.Exponent)}}"}]}""";
    }

    /// <summary>A local identity provider on a free loopback port, serving the routes <paramref name="map"/> adds.</summary>
    private static async Task<WebApplication> StartKeyServerAsync(Action<WebApplication> map)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var server = builder.Build();
        map(server);
        await server.StartAsync();
        return server;
    }

    private static string AddressOf(WebApplication server) =>
        server.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();

    private static string Token(
        RSA rsa, Dictionary<string, object> claims, TimeSpan? expiresIn = null, string? audience = "broker-test", string? issuer = "https://issuer.test", string keyId = "k1")
    {
        var expires = DateTime.UtcNow + (expiresIn ?? TimeSpan.FromMinutes(10));
        return new JsonWebTokenHandler { SetDefaultTimesOnTokenCreation = false }.CreateToken(new SecurityTokenDescriptor
        {
            Issuer = issuer,
            Audience = audience,
            NotBefore = expires.AddHours(-2),
            IssuedAt = expires.AddHours(-2),
            Expires = expires,
            Claims = claims,
            SigningCredentials = new SigningCredentials(new RsaSecurityKey(rsa) { KeyId = keyId }, SecurityAlgorithms.RsaSha256),
        });
    }
}
