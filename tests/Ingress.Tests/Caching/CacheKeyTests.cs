using System.Text.Json.Nodes;
using Broker.Ingress.Caching;

namespace Broker.Ingress.Tests.Caching;

public sealed class CacheKeyTests
{
    private static string Key(string json, string group = "g", CacheCallType type = CacheCallType.Chat, string? ns = null) =>
        CacheKey.Compute(type, group, JsonNode.Parse(json)!.AsObject(), ns);

    [Fact]
    public void Compute_KeyOrderAndNumberSpelling_SameKey()
    {
        var a = Key("""{"messages":[{"role":"user","content":"hi"}],"temperature":1,"top_p":0.50}""");
        var b = Key("""{"top_p":0.5,"temperature":1.0,"messages":[{"content":"hi","role":"user"}]}""");

        Assert.Equal(a, b);
        Assert.Equal(64, a.Length);
    }

    [Fact]
    public void Compute_NonSemanticFields_Ignored()
    {
        var plain = Key("""{"model":"x","messages":[]}""");
        var decorated = Key("""{"model":"y","messages":[],"user":"u","metadata":{"a":1},"stream":true,"stream_options":{"include_usage":true},"cache":{"ttl":5}}""");

        Assert.Equal(plain, decorated);
    }

    [Theory]
    [InlineData("""{"messages":[],"temperature":0.3}""")]
    [InlineData("""{"messages":[],"tools":[]}""")]
    [InlineData("""{"messages":[{"role":"user","content":"hi"}]}""")]
    [InlineData("""{"messages":[],"seed":1}""")]
    public void Compute_SemanticField_ChangesKey(string json) =>
        Assert.NotEqual(Key("""{"messages":[]}"""), Key(json));

    [Fact]
    public void Compute_GroupCallTypeAndNamespace_ChangeKey()
    {
        const string json = """{"messages":[]}""";

        Assert.NotEqual(Key(json, "a"), Key(json, "b"));
        Assert.NotEqual(Key(json, type: CacheCallType.Chat), Key(json, type: CacheCallType.Responses));
        Assert.Equal("team-a:" + Key(json), Key(json, ns: "team-a"));
    }
}
