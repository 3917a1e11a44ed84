using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Broker.Host.Tests.Infrastructure;
using Broker.TestKit;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using static Broker.Host.Tests.Keys.KeysApi;

namespace Broker.Host.Tests.Security;

/// <summary>
/// JWT callers without admin rights each own their files and batches (by user, else team): one cannot list, read,
/// download or delete another's, nor the master key's, and the master key does not see theirs in its own list.
/// </summary>
[Trait("Category", "Integration")]
public sealed class JwtOwnerScopingTests
{
    [Fact]
    public async Task Files_TwoJwtUsers_NeitherSeesTheOthers()
    {
        using var rsa = RSA.Create(2048);
        await using var upstream = await FakeUpstream.StartOpenAiAsync();
        await using var db = await TestDatabase.CreateAsync();
        await using var broker = await StartWithJwtAsync(rsa, upstream, db);
        var alice = Token(rsa, "alice");
        var bob = Token(rsa, "bob");

        var fileId = await UploadAsync(broker.Http, alice);
        var (batchStatus, batch) = await SendAsync(broker.Http, HttpMethod.Post, "v1/batches", alice, new JsonObject
        {
            ["input_file_id"] = fileId, ["endpoint"] = "/v1/chat/completions", ["completion_window"] = "24h",
        });
        Assert.Equal(HttpStatusCode.OK, batchStatus);
        var batchId = batch!["id"]!.GetValue<string>();

        // alice sees her own
        Assert.Equal(HttpStatusCode.OK, (await SendAsync(broker.Http, HttpMethod.Get, $"v1/files/{fileId}", alice)).Status);
        Assert.Equal(HttpStatusCode.OK, (await SendAsync(broker.Http, HttpMethod.Get, $"v1/batches/{batchId}", alice)).Status);
        // bob and the master key do not
        foreach (var other in new[] { bob, MasterKey })
        {
            Assert.Empty((await SendAsync(broker.Http, HttpMethod.Get, "v1/files", other)).Body!["data"]!.AsArray());
            Assert.Empty((await SendAsync(broker.Http, HttpMethod.Get, "v1/batches", other)).Body!["data"]!.AsArray());
            Assert.Equal(HttpStatusCode.NotFound, (await SendAsync(broker.Http, HttpMethod.Get, $"v1/files/{fileId}", other)).Status);
            Assert.Equal(HttpStatusCode.NotFound, (await SendAsync(broker.Http, HttpMethod.Get, $"v1/files/{fileId}/content", other)).Status);
            Assert.Equal(HttpStatusCode.NotFound, (await SendAsync(broker.Http, HttpMethod.Get, $"v1/batches/{batchId}", other)).Status);
            Assert.Equal(HttpStatusCode.NotFound, (await SendAsync(broker.Http, HttpMethod.Delete, $"v1/files/{fileId}", other)).Status);
        }

        Assert.Single((await SendAsync(broker.Http, HttpMethod.Get, "v1/files", alice)).Body!["data"]!.AsArray());
    }

    [Fact]
    public async Task Batch_MasterKeyWithUserField_OwnedByTheAdminNotAnonymousCallers()
    {
        using var rsa = RSA.Create(2048);
        await using var upstream = await FakeUpstream.StartOpenAiAsync();
        await using var db = await TestDatabase.CreateAsync();
        await using var broker = await StartWithJwtAsync(rsa, upstream, db);

        // the master key names an end user in the body: the batch is still the admin's, over the admin's own file
        var fileId = await UploadAsync(broker.Http, MasterKey);
        var (status, batch) = await SendAsync(broker.Http, HttpMethod.Post, "v1/batches", MasterKey, new JsonObject
        {
            ["input_file_id"] = fileId, ["endpoint"] = "/v1/chat/completions", ["completion_window"] = "24h", ["user"] = "alice",
        });
        Assert.True(status == HttpStatusCode.OK, $"{status} {batch?.ToJsonString()}");
        var batchId = batch!["id"]!.GetValue<string>();
        Assert.Equal(HttpStatusCode.OK, (await SendAsync(broker.Http, HttpMethod.Get, $"v1/batches/{batchId}", MasterKey)).Status);

        // a JWT without user or team claims is not the admin and sees none of it
        var anonymous = Token(rsa, subject: null);
        Assert.Empty((await SendAsync(broker.Http, HttpMethod.Get, "v1/batches", anonymous)).Body!["data"]!.AsArray());
        Assert.Equal(HttpStatusCode.NotFound, (await SendAsync(broker.Http, HttpMethod.Get, $"v1/batches/{batchId}", anonymous)).Status);
    }

    /// <summary>An embedded broker that takes JWTs signed by <paramref name="rsa"/> (and the master key).</summary>
    private static Task<BrokerRunner> StartWithJwtAsync(RSA rsa, FakeUpstream upstream, TestDatabase db)
    {
        var pem = rsa.ExportSubjectPublicKeyInfoPem().Replace("\n", "\\n", StringComparison.Ordinal);
        return BrokerRunner.StartEmbeddedAsync(Yaml(upstream.BaseUrl, db.Url, $$"""
              enable_jwt_auth: true
              litellm_jwtauth:
                public_key: "{{pem}}"
                audience: broker-test
                issuer: https://issuer.test
            """));
    }

    private static async Task<string> UploadAsync(HttpClient http, string token)
    {
        using var form = new MultipartFormDataContent
        {
            { new StringContent("batch"), "purpose" },
            { new ByteArrayContent(Encoding.UTF8.GetBytes(Broker.Host.Tests.Batches.BatchTestClient.ChatLine("a", "gpt-4o") + "\n")), "file", "input.jsonl" },
        };
        using var request = new HttpRequestMessage(HttpMethod.Post, "v1/files") { Content = form };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using var response = await http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, text);
        return JsonNode.Parse(text)!["id"]!.GetValue<string>();
    }

    private static async Task<(HttpStatusCode Status, JsonNode? Body)> SendAsync(HttpClient http, HttpMethod method, string path, string token, JsonObject? body = null)
    {
        using var request = new HttpRequestMessage(method, path);
        if (body is not null)
        {
            request.Content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json");
        }

        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using var response = await http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, text.Length == 0 || text[0] != '{' ? null : JsonNode.Parse(text));
    }

    private static string Token(RSA rsa, string? subject)
    {
        var expires = DateTime.UtcNow + TimeSpan.FromMinutes(10);
        return new JsonWebTokenHandler { SetDefaultTimesOnTokenCreation = false }.CreateToken(new SecurityTokenDescriptor
        {
            Issuer = "https://issuer.test",
            Audience = "broker-test",
            NotBefore = expires.AddHours(-2),
            IssuedAt = expires.AddHours(-2),
            Expires = expires,
            Claims = subject is null ? new Dictionary<string, object> { ["scope"] = "none" } : new Dictionary<string, object> { ["sub"] = subject },
            SigningCredentials = new SigningCredentials(new RsaSecurityKey(rsa), SecurityAlgorithms.RsaSha256),
        });
    }
}
