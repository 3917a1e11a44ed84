using System.Globalization;
using System.Net;
using System.Text.Json.Nodes;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;
using Broker.Contracts.Identity;
using Broker.Contracts.Usage;
using Broker.Host.Tests.Alerts;
using Broker.Host.Tests.Infrastructure;
using Broker.TestKit;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;

namespace Broker.Host.Tests.Callbacks;

/// <summary>The <c>s3</c> callback against the local S3-compatible server, and <c>langsmith</c> against a fake runs API.</summary>
public sealed class StorageCallbacksTests
{
    private static readonly Dictionary<string, string?> FastRetries = new() { ["Alerts:RetryDelayMs"] = "200" };

    private static string Env(string name) =>
        Environment.GetEnvironmentVariable(name) is { Length: > 0 } value ? value : throw new InvalidOperationException($"{name} is not set: run eval \"$(scripts/services.sh)\"");

    [Fact]
    [Trait("Category", "Integration")]
    public async Task CompleteChat_S3Callback_PayloadStoredUnderLiteLlmKeyLayout()
    {
        using var s3 = new AmazonS3Client(new BasicAWSCredentials(Env("S3_ACCESS_KEY_ID"), Env("S3_SECRET_ACCESS_KEY")),
            new AmazonS3Config { ServiceURL = Env("S3_ENDPOINT_URL"), ForcePathStyle = true, AuthenticationRegion = "us-east-1" });
        var bucket = "broker-callbacks-" + Guid.NewGuid().ToString("N")[..12];
        await s3.PutBucketAsync(bucket);
        try
        {
            await using var upstream = await FakeUpstream.StartOpenAiAsync();
            var yaml = $$"""
                model_list:
                  - model_name: ok
                    litellm_params: {model: openai/gpt-4o, api_base: "{{upstream.BaseUrl}}/v1", api_key: sk-up-1111}
                    model_info: {id: ok-1}
                litellm_settings:
                  callbacks: ["s3"]
                  s3_callback_params:
                    s3_bucket_name: {{bucket}}
                    s3_region_name: us-east-1
                    s3_endpoint_url: {{Env("S3_ENDPOINT_URL")}}
                    s3_aws_access_key_id: os.environ/TEST_S3_KEY
                    s3_aws_secret_access_key: os.environ/TEST_S3_SECRET
                    s3_path: llm-logs/
                    s3_use_team_prefix: true
                    s3_use_key_prefix: true
                """;
            var env = new Dictionary<string, string> { ["TEST_S3_KEY"] = Env("S3_ACCESS_KEY_ID"), ["TEST_S3_SECRET"] = Env("S3_SECRET_ACCESS_KEY") };
            await using var broker = await BrokerRunner.StartEmbeddedAsync(yaml, env, FastRetries);

            // a real request: no key, so no team or key folder
            using var ok = await broker.Http.PostAsync("v1/chat/completions", AlertDeliveryTests.Chat("ok"));
            Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
            var callId = ok.Headers.GetValues("x-litellm-call-id").Single();

            // a caller with a team and a key alias: both become folders
            var requestId = Guid.NewGuid();
            var completedAt = new DateTimeOffset(2026, 3, 4, 5, 6, 7, 890, TimeSpan.Zero);
            await broker.Hosts[0].Services.GetRequiredService<IBus>().Publish(new UsageRecorded
            {
                RequestId = requestId,
                ModelGroup = "ok",
                DeploymentId = "ok-1",
                Provider = "openai",
                PromptTokens = 11,
                CompletionTokens = 7,
                LatencyMs = 250,
                Succeeded = false,
                ErrorClass = "RateLimitError",
                CompletedAt = completedAt,
                Cost = 0.0042m,
                Caller = new Caller { KeyHash = "hash-1", KeyAlias = "billing-key", TeamId = "team-7", TeamAlias = "research" },
            });

            var keys = await WaitForObjectsAsync(s3, bucket, 2);
            var today = keys.Single(k => k.EndsWith($"_{callId}.json", StringComparison.Ordinal));
            Assert.Matches(@"^llm-logs/\d{4}-\d{2}-\d{2}/time-\d{2}-\d{2}-\d{2}-\d{6}_" + callId + @"\.json$", today);
            var okPayload = await ReadJsonAsync(s3, bucket, today);
            Assert.Equal((callId, "ok", "ok-1", "success"),
                (okPayload["id"]!.GetValue<string>(), okPayload["model_group"]!.GetValue<string>(), okPayload["model_id"]!.GetValue<string>(), okPayload["status"]!.GetValue<string>()));
            Assert.True(okPayload["total_tokens"]!.GetValue<int>() > 0);

            // started 250 ms before completion: 05:06:07.640
            Assert.Contains($"llm-logs/research/billing-key/2026-03-04/time-05-06-07-640000_{requestId}.json", keys);
            var failed = await ReadJsonAsync(s3, bucket, $"llm-logs/research/billing-key/2026-03-04/time-05-06-07-640000_{requestId}.json");
            Assert.Equal("failure", failed["status"]!.GetValue<string>());
            Assert.Equal("RateLimitError", failed["error_str"]!.GetValue<string>());
            Assert.Equal(0.0042m, failed["response_cost"]!.GetValue<decimal>());
            Assert.Equal("research", failed["metadata"]!["user_api_key_team_alias"]!.GetValue<string>());
        }
        finally
        {
            var listed = await s3.ListObjectsV2Async(new ListObjectsV2Request { BucketName = bucket });
            foreach (var o in listed.S3Objects ?? [])
            {
                await s3.DeleteObjectAsync(bucket, o.Key);
            }

            await s3.DeleteBucketAsync(bucket);
        }
    }

    [Fact]
    public async Task CompleteChat_LangSmithCallback_OneRunPerRequestInItsProject()
    {
        await using var receiver = await FakeReceiver.StartAsync();
        await using var healthy = await FakeUpstream.StartOpenAiAsync();
        await using var failing = await FakeUpstream.StartOpenAiAsync();
        failing.Failure = (500, """{"error":{"message":"upstream exploded","type":"server_error"}}""", null);
        var yaml = $$"""
            model_list:
              - model_name: ok
                litellm_params: {model: openai/gpt-4o, api_base: "{{healthy.BaseUrl}}/v1", api_key: sk-up-1111}
              - model_name: broken
                litellm_params: {model: openai/gpt-4o, api_base: "{{failing.BaseUrl}}/v1", api_key: sk-up-2222}
            router_settings:
              num_retries: 0
            litellm_settings:
              success_callback: ["langsmith"]
              failure_callback: ["langsmith"]
            environment_variables:
              LANGSMITH_API_KEY: ls-key-test
              LANGSMITH_PROJECT: broker-project
              LANGSMITH_BASE_URL: "{{receiver.BaseUrl}}/api/v1"
            """;
        await using var broker = await BrokerRunner.StartEmbeddedAsync(yaml, settings: FastRetries);

        using var ok = await broker.Http.PostAsync("v1/chat/completions", AlertDeliveryTests.Chat("ok"));
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        var callId = ok.Headers.GetValues("x-litellm-call-id").Single();
        using var broken = await broker.Http.PostAsync("v1/chat/completions", AlertDeliveryTests.Chat("broken"));
        Assert.Equal(HttpStatusCode.InternalServerError, broken.StatusCode);

        var received = await receiver.WaitForAsync(r => r.Count >= 2);
        Assert.All(received, r => Assert.Equal(("POST", "/api/v1/runs/batch", "ls-key-test"), (r.Method, r.Path, r.Headers["x-api-key"])));
        var runs = received.Select(r => Assert.Single(JsonNode.Parse(r.Body)!["post"]!.AsArray())!).ToList();
        Assert.All(runs, run => Assert.Equal(("llm", "broker-project", "LLMRun"),
            (run["run_type"]!.GetValue<string>(), run["session_name"]!.GetValue<string>(), run["name"]!.GetValue<string>())));

        var okRun = runs.Single(r => r["inputs"]!["model"]!.GetValue<string>() == "ok");
        Assert.Equal((callId, callId), (okRun["id"]!.GetValue<string>(), okRun["trace_id"]!.GetValue<string>()));
        Assert.EndsWith("Z" + callId, okRun["dotted_order"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.True(okRun["outputs"]!["usage"]!["total_tokens"]!.GetValue<int>() > 0);
        Assert.Null(okRun["error"]);
        Assert.True(DateTimeOffset.Parse(okRun["end_time"]!.GetValue<string>(), CultureInfo.InvariantCulture) >=
            DateTimeOffset.Parse(okRun["start_time"]!.GetValue<string>(), CultureInfo.InvariantCulture));

        var brokenRun = runs.Single(r => r["inputs"]!["model"]!.GetValue<string>() == "broken");
        Assert.False(string.IsNullOrEmpty(brokenRun["error"]!.GetValue<string>()));
        Assert.Equal("failure", brokenRun["extra"]!["metadata"]!["status"]!.GetValue<string>());
    }

    private static async Task<List<string>> WaitForObjectsAsync(AmazonS3Client s3, string bucket, int count)
    {
        var deadline = DateTimeOffset.UtcNow + TimeSpan.FromSeconds(60);
        while (true)
        {
            var listed = await s3.ListObjectsV2Async(new ListObjectsV2Request { BucketName = bucket });
            var keys = listed.S3Objects?.Select(o => o.Key).ToList() ?? [];
            if (keys.Count >= count || DateTimeOffset.UtcNow > deadline)
            {
                Assert.Equal(count, keys.Count);
                return keys;
            }

            await Task.Delay(100);
        }
    }

    private static async Task<JsonNode> ReadJsonAsync(AmazonS3Client s3, string bucket, string key)
    {
        using var response = await s3.GetObjectAsync(bucket, key);
        Assert.Equal("application/json", response.Headers.ContentType);
        using var reader = new StreamReader(response.ResponseStream);
        return JsonNode.Parse(await reader.ReadToEndAsync())!;
    }
}
