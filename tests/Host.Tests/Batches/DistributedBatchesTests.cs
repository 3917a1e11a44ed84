using Broker.Host.Composition;
using Broker.Host.Tests.EndToEnd;
using Broker.Host.Tests.Infrastructure;
using Broker.TestKit;

namespace Broker.Host.Tests.Batches;

/// <summary>Batches over the real RabbitMQ with separate worker processes, one of which is stopped mid-batch.</summary>
[Trait("Category", "Integration")]
public sealed class DistributedBatchesTests(RabbitMqFixture rabbit) : IClassFixture<RabbitMqFixture>
{
    private const string MasterKey = "sk-batch-master";

    [Fact]
    public async Task Batch_WorkerStoppedMidBatch_CompletesWithEveryLineExactlyOnce()
    {
        await using var db = await TestDatabase.CreateAsync();
        await using var upstream = await FakeUpstream.StartOpenAiAsync();
        // longer than the stopping worker waits for its consumers (1 s), so it abandons the calls it holds
        upstream.Delay = TimeSpan.FromMilliseconds(1500);
        var (url, vhost) = await rabbit.CreateVirtualHostAsync();
        try
        {
            await using var broker = await BrokerRunner.StartAsync($$"""
                model_list:
                  - model_name: good
                    litellm_params: { model: openai/gpt-4o, api_base: "{{upstream.BaseUrl}}/v1", api_key: k, max_parallel_requests: 64 }
                router_settings:
                  timeout: 30
                general_settings:
                  master_key: {{MasterKey}}
                  database_url: "{{db.Url}}"
                """, null, url,
                [(BrokerRoles.Workers, []), (BrokerRoles.Workers, []), (BrokerRoles.Ingress | BrokerRoles.Billing, [])],
                new Dictionary<string, string?>
                {
                    ["REDIS_URL"] = RoutingDistributedTests.RequireRedis(),
                    ["Bus:ConsumerStopTimeoutSeconds"] = "1",
                    ["Ingress:BatchPollSeconds"] = "0.2",
                });
            var client = new BatchTestClient(broker, MasterKey);
            var ids = Enumerable.Range(1, 160).Select(i => $"line-{i}").ToList();
            var fileId = await client.UploadAsync(string.Join("\n", ids.Select(id => BatchTestClient.ChatLine(id, "good", id))));
            var created = await client.CreateAsync(fileId);
            var watch = System.Diagnostics.Stopwatch.StartNew();
            while (upstream.Requests.Count < 40)
            {
                Assert.True(watch.Elapsed < TimeSpan.FromSeconds(60), "the batch did not start");
                await Task.Delay(20);
            }

            // one of the two workers goes away while it holds lines; RabbitMQ hands them to the other
            await broker.StopHostAsync(broker.Hosts[0]);
            var batch = await client.WaitAsync(created["id"]!.GetValue<string>(), TimeSpan.FromSeconds(120));

            Assert.Equal("completed", batch["status"]!.GetValue<string>());
            Assert.Equal(160, batch["request_counts"]!["completed"]!.GetValue<int>());
            Assert.Equal(0, batch["request_counts"]!["failed"]!.GetValue<int>());
            var output = await client.DownloadLinesAsync(batch["output_file_id"]!.GetValue<string>());
            Assert.Equal(ids, output.Select(l => l["custom_id"]!.GetValue<string>()).ToList());
            Assert.All(output, l => Assert.Equal(200, l["response"]!["status_code"]!.GetValue<int>()));
            Assert.Null(batch["error_file_id"]);
            // every line reached the provider; the stopped worker's abandoned calls were made again by the other
            var prompts = upstream.Requests.Select(r => r.Body["messages"]![0]!["content"]!.GetValue<string>()).ToHashSet();
            Assert.Equal(ids.ToHashSet(), prompts);
            Assert.True(upstream.Cancelled >= 1, "the stopped worker held no call");
            Assert.True(upstream.Requests.Count > 160, $"{upstream.Requests.Count} provider calls");
            Assert.Equal(160L, await db.ScalarAsync<long>("SELECT count(*) FROM broker_batch_lines WHERE status = 'done'"));
        }
        finally
        {
            await rabbit.DeleteVirtualHostAsync(vhost);
        }
    }

    [Fact]
    public async Task Batch_IngressRestartedMidBatch_NewIngressResumesIncludingLinesLeasedByTheDeadOne()
    {
        await using var db = await TestDatabase.CreateAsync();
        await using var upstream = await FakeUpstream.StartOpenAiAsync();
        upstream.Delay = TimeSpan.FromMilliseconds(300);
        var logs = LogCapture.Create();
        var (url, vhost) = await rabbit.CreateVirtualHostAsync();
        try
        {
            await using var broker = await BrokerRunner.StartAsync($$"""
                model_list:
                  - model_name: good
                    litellm_params: { model: openai/gpt-4o, api_base: "{{upstream.BaseUrl}}/v1", api_key: k, max_parallel_requests: 16 }
                router_settings:
                  timeout: 30
                general_settings:
                  master_key: {{MasterKey}}
                  database_url: "{{db.Url}}"
                """, null, url,
                [(BrokerRoles.Workers | BrokerRoles.Billing, []), (BrokerRoles.Ingress, [])],
                new Dictionary<string, string?>(logs.Settings)
                {
                    ["REDIS_URL"] = RoutingDistributedTests.RequireRedis(),
                    ["Ingress:BatchPollSeconds"] = "0.2",
                });
            var client = new BatchTestClient(broker, MasterKey);
            var ids = Enumerable.Range(1, 120).Select(i => $"line-{i}").ToList();
            var fileId = await client.UploadAsync(string.Join("\n", ids.Select(id => BatchTestClient.ChatLine(id, "good", id))));
            var batchId = (await client.CreateAsync(fileId))["id"]!.GetValue<string>();
            var watch = System.Diagnostics.Stopwatch.StartNew();
            while (await db.ScalarAsync<long>("SELECT count(*) FROM broker_batch_lines WHERE status = 'done'") < 20)
            {
                Assert.True(watch.Elapsed < TimeSpan.FromSeconds(60), "the batch did not start");
                await Task.Delay(50);
            }

            await broker.StopHostAsync(broker.Hosts[1]);
            var afterStop = await db.ScalarAsync<long>("SELECT count(*) FROM broker_batch_lines WHERE status = 'done'");
            Assert.InRange(afterStop, 20, 119);
            Assert.Equal(0L, await db.ScalarAsync<long>("SELECT count(*) FROM broker_batch_lines WHERE status = 'in_flight'"));
            // as a process that crashed would leave them: ten lines leased, the lease already run out
            await db.ExecuteAsync("""
                UPDATE broker_batch_lines SET status = 'in_flight', lease_until = now() - interval '1 second', attempts = attempts + 1
                WHERE line_no IN (SELECT line_no FROM broker_batch_lines WHERE status = 'pending' ORDER BY line_no DESC LIMIT 10)
                """);

            var ingress = await broker.StartHostAsync(BrokerRoles.Ingress);
            var resumed = new BatchTestClient(broker, MasterKey, BrokerApp.Addresses(ingress)[0]);
            var batch = await resumed.WaitAsync(batchId, TimeSpan.FromSeconds(120));

            Assert.Equal("completed", batch["status"]!.GetValue<string>());
            Assert.Null(batch["error_file_id"]);
            Assert.Equal(120, batch["request_counts"]!["completed"]!.GetValue<int>());
            var output = await resumed.DownloadLinesAsync(batch["output_file_id"]!.GetValue<string>());
            Assert.Equal(ids, output.Select(l => l["custom_id"]!.GetValue<string>()).ToList());
            // the ten "crashed" leases and the lines the stopped ingress gave back ran a second time, and only those
            Assert.InRange(await db.ScalarAsync<long>("SELECT count(*) FROM broker_batch_lines WHERE attempts = 2"), 10, 120 - afterStop);
            Assert.Equal(0L, await db.ScalarAsync<long>("SELECT count(*) FROM broker_batch_lines WHERE attempts > 2"));
            // the worker answered the stopped ingress's lines into the void without a fault: replying to an instance
            // that is gone must not close the channel its other answers travel on (see InstanceEndpoint)
            Assert.DoesNotContain("-FAULT", logs.All, StringComparison.Ordinal);
        }
        finally
        {
            await rabbit.DeleteVirtualHostAsync(vhost);
        }
    }

    [Fact]
    public async Task Batch_GroupWithoutWorker_LineTriedThreeTimesThenFailedWith504()
    {
        await using var db = await TestDatabase.CreateAsync();
        await using var upstream = await FakeUpstream.StartOpenAiAsync();
        var (url, vhost) = await rabbit.CreateVirtualHostAsync();
        try
        {
            await using var broker = await BrokerRunner.StartAsync($$"""
                model_list:
                  - model_name: good
                    litellm_params: { model: openai/gpt-4o, api_base: "{{upstream.BaseUrl}}/v1", api_key: k }
                  - model_name: orphan
                    litellm_params: { model: openai/gpt-4o, api_base: "{{upstream.BaseUrl}}/v1", api_key: k }
                router_settings:
                  timeout: 1
                general_settings:
                  master_key: {{MasterKey}}
                  database_url: "{{db.Url}}"
                """, null, url,
                [(BrokerRoles.Workers, ["good"]), (BrokerRoles.Ingress | BrokerRoles.Billing, [])],
                new Dictionary<string, string?>
                {
                    ["REDIS_URL"] = RoutingDistributedTests.RequireRedis(),
                    ["Ingress:BatchPollSeconds"] = "0.2",
                });
            var client = new BatchTestClient(broker, MasterKey);
            var fileId = await client.UploadAsync(BatchTestClient.ChatLine("served", "good") + "\n" + BatchTestClient.ChatLine("unserved", "orphan"));

            var batch = await client.WaitAsync((await client.CreateAsync(fileId))["id"]!.GetValue<string>(), TimeSpan.FromSeconds(60));

            Assert.Equal("completed", batch["status"]!.GetValue<string>());
            var errors = await client.DownloadLinesAsync(batch["error_file_id"]!.GetValue<string>());
            Assert.Equal("unserved", Assert.Single(errors)["custom_id"]!.GetValue<string>());
            Assert.Equal(504, errors[0]["response"]!["status_code"]!.GetValue<int>());
            Assert.Equal(3, await db.ScalarAsync<int>("SELECT attempts FROM broker_batch_lines WHERE custom_id = 'unserved'"));
            Assert.Equal(1, await db.ScalarAsync<int>("SELECT attempts FROM broker_batch_lines WHERE custom_id = 'served'"));
        }
        finally
        {
            await rabbit.DeleteVirtualHostAsync(vhost);
        }
    }
}
