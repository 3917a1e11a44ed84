using System.Diagnostics;
using System.Net;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;
using Broker.Host.Tests.Infrastructure;
using Broker.TestKit;
using static Broker.Host.Tests.Caching.CacheCalls;

namespace Broker.Host.Tests.Caching;

/// <summary><c>type: s3</c> against a real S3-compatible server (s3rver, started by scripts/services.sh).</summary>
public sealed class S3CacheTests
{
    private static string Env(string name) =>
        Environment.GetEnvironmentVariable(name) is { Length: > 0 } value ? value : throw new InvalidOperationException($"{name} is not set: run eval \"$(scripts/services.sh)\"");

    private static string S3Settings(string endpoint, string nameSpace) => $"""
          cache: true
          cache_params:
            type: s3
            namespace: {nameSpace}
            s3_bucket_name: {Env("S3_BUCKET")}
            s3_region_name: us-east-1
            s3_endpoint_url: {endpoint}
            s3_aws_access_key_id: os.environ/TEST_S3_KEY
            s3_aws_secret_access_key: os.environ/TEST_S3_SECRET
        """;

    private static Dictionary<string, string> Credentials => new()
    {
        ["TEST_S3_KEY"] = Env("S3_ACCESS_KEY_ID"),
        ["TEST_S3_SECRET"] = Env("S3_SECRET_ACCESS_KEY"),
    };

    [Fact]
    [Trait("Category", "Integration")]
    public async Task Chat_S3Cache_MissThenHitStoredInTheBucket()
    {
        await using var upstream = await FakeUpstream.StartOpenAiAsync();
        var nameSpace = "s3-test-" + Guid.NewGuid().ToString("N");
        await using var broker = await BrokerRunner.StartEmbeddedAsync(LocalCacheFixture.Yaml(upstream, S3Settings(Env("S3_ENDPOINT_URL"), nameSpace)), Credentials,
            new Dictionary<string, string?> { ["Cache:TimeoutMilliseconds"] = "5000" });
        var prompt = "s3 prompt " + Guid.NewGuid().ToString("N");

        var miss = await ChatAsync(broker, Chat(prompt));
        Assert.Equal(HttpStatusCode.OK, miss.Status);
        Assert.False(miss.Hit);
        Assert.StartsWith(nameSpace + ":", miss.Key, StringComparison.Ordinal);

        // the store happens in the background: poll until the object is in the bucket
        using var s3 = new AmazonS3Client(new BasicAWSCredentials(Env("S3_ACCESS_KEY_ID"), Env("S3_SECRET_ACCESS_KEY")),
            new AmazonS3Config { ServiceURL = Env("S3_ENDPOINT_URL"), ForcePathStyle = true, AuthenticationRegion = "us-east-1" });
        var objects = new List<string>();
        for (var i = 0; i < 100 && objects.Count == 0; i++)
        {
            var listed = await s3.ListObjectsV2Async(new ListObjectsV2Request { BucketName = Env("S3_BUCKET"), Prefix = nameSpace });
            objects = listed.S3Objects?.Select(o => o.Key).ToList() ?? [];
            if (objects.Count == 0)
            {
                await Task.Delay(50);
            }
        }

        Assert.Equal([miss.Key!], objects);

        var hit = await ChatAsync(broker, Chat(prompt));
        Assert.Equal(HttpStatusCode.OK, hit.Status);
        Assert.True(hit.Hit);
        Assert.Equal(miss.Key, hit.Key);
        Assert.Equal(miss.Content, hit.Content);
        Assert.Single(upstream.Requests);

        await s3.DeleteObjectAsync(Env("S3_BUCKET"), miss.Key);
    }

    [Fact]
    [Trait("Category", "Integration")]
    public async Task Chat_S3Unreachable_RequestsSucceedAsMissesWithinBoundedLatency()
    {
        await using var upstream = await FakeUpstream.StartOpenAiAsync();
        // nothing listens on port 9 here: every S3 call fails
        await using var broker = await BrokerRunner.StartEmbeddedAsync(
            LocalCacheFixture.Yaml(upstream, S3Settings("http://127.0.0.1:9", "s3-down-" + Guid.NewGuid().ToString("N"))), Credentials);
        var prompt = "s3 down " + Guid.NewGuid().ToString("N");

        var watch = Stopwatch.StartNew();
        for (var i = 0; i < 5; i++)
        {
            var answer = await ChatAsync(broker, Chat(prompt));
            Assert.Equal(HttpStatusCode.OK, answer.Status);
            Assert.False(answer.Hit);
        }

        Assert.Equal(5, upstream.Requests.Count);
        // one lookup may wait out the cache timeout (1 s for s3); after a failure the cache is skipped
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(15), $"5 requests took {watch.Elapsed}");
    }
}
