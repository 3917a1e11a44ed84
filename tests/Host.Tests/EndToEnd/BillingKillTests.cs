using System.Collections.Concurrent;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Broker.Host.Composition;
using Broker.Host.Tests.Infrastructure;
using Broker.TestKit;
using RabbitMQ.Client;

namespace Broker.Host.Tests.EndToEnd;

/// <summary>
/// The quick scenario of the fault suite (tests/Faults): Billing runs as a real <c>broker --role billing</c> process and
/// is killed with SIGKILL under concurrent load, while it holds usage events; a new Billing host takes over. Every
/// answered request is charged exactly once: one success spend row per answer, none missing, none extra.
/// </summary>
[Trait("Category", "Integration")]
public sealed class BillingKillTests(RabbitMqFixture rabbit) : IClassFixture<RabbitMqFixture>
{
    private const string MasterKey = "sk-billing-kill-0001";

    [Fact]
    public async Task Spend_BillingKilledUnderLoad_OneRowPerAnswer()
    {
        await using var upstream = await FakeUpstream.StartOpenAiAsync();
        upstream.Delay = TimeSpan.FromMilliseconds(20);
        await using var db = await TestDatabase.CreateAsync();
        var (url, vhost) = await rabbit.CreateVirtualHostAsync();
        var configPath = Path.Combine(Path.GetTempPath(), $"broker-billing-kill-{Guid.NewGuid():N}.yaml");
        var yaml = $$"""
            model_list:
              - model_name: chat
                litellm_params: { model: openai/gpt-4o, api_base: "{{upstream.BaseUrl}}/v1", api_key: k }
            general_settings:
              master_key: {{MasterKey}}
              database_url: "{{db.Url}}"
              proxy_batch_write_at: 0.5
            """;
        await File.WriteAllTextAsync(configPath, yaml);
        try
        {
            var billing = BrokerProcess.Start(configPath, url, ["--role", "billing"]);
            try
            {
                // Billing binds the usage queue: only then is no event published into the void
                await WaitForConsumerAsync(url, "billing.usage-recorded", billing);
                await using var broker = await BrokerRunner.StartAsync(yaml, null, url, [(BrokerRoles.Workers, []), (BrokerRoles.Ingress, [])]);
                broker.Http.DefaultRequestHeaders.Add("Authorization", "Bearer " + MasterKey);

                var answered = new ConcurrentBag<Guid>();
                var failures = new ConcurrentBag<string>();
                using var stop = new CancellationTokenSource();
                var clients = Enumerable.Range(0, 8).Select(_ => Task.Run(async () =>
                {
                    while (!stop.IsCancellationRequested)
                    {
                        await ChatAsync(broker.Http, answered, failures);
                    }
                })).ToList();

                // Billing dies while the load goes on and it holds events of its half-second batch
                await WaitUntilAsync(() => answered.Count >= 40, "40 answers before the kill", failures);
                await billing.Kill();
                var atKill = answered.Count;
                await WaitUntilAsync(() => answered.Count >= atKill + 40, "40 answers while Billing is dead", failures);
                // the successor runs in this process (starting a second dotnet process costs seconds the test need not spend)
                await broker.AddHostAsync(BrokerRoles.Billing, url);
                await WaitForConsumerAsync(url, "billing.usage-recorded", null);
                var atRestart = answered.Count;
                await WaitUntilAsync(() => answered.Count >= atRestart + 40, "40 answers after the restart", failures);
                await stop.CancelAsync();
                await Task.WhenAll(clients).WaitAsync(TimeSpan.FromSeconds(60));

                Assert.Empty(failures);
                var expected = answered.OrderBy(id => id).ToList();
                await WaitUntilAsync(async () => await db.ScalarAsync<long>("SELECT count(*) FROM broker_spend_logs") >= expected.Count,
                    "a spend row for every answer", failures);
                await Task.Delay(1000);
                var rows = await db.ScalarAsync<string>(
                    "SELECT string_agg(request_id::text, ',' ORDER BY request_id) FROM broker_spend_logs WHERE status = 'success'");
                Assert.Equal(string.Join(',', expected), rows);
                Assert.Equal((long)expected.Count, await db.ScalarAsync<long>("SELECT count(*) FROM broker_spend_logs"));
            }
            finally
            {
                await billing.DisposeAsync();
            }
        }
        finally
        {
            await rabbit.DeleteVirtualHostAsync(vhost);
            File.Delete(configPath);
        }
    }

    private static async Task ChatAsync(HttpClient http, ConcurrentBag<Guid> answered, ConcurrentBag<string> failures)
    {
        using var content = new StringContent(new JsonObject
        {
            ["model"] = "chat",
            ["messages"] = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = "hi" }),
        }.ToJsonString(), Encoding.UTF8, "application/json");
        using var response = await http.PostAsync("v1/chat/completions", content);
        if (response.StatusCode == HttpStatusCode.OK && response.Headers.TryGetValues("x-litellm-call-id", out var ids))
        {
            answered.Add(Guid.Parse(ids.Single()));
        }
        else
        {
            failures.Add($"{(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        }
    }

    private static Task WaitUntilAsync(Func<bool> condition, string what, ConcurrentBag<string> failures) =>
        WaitUntilAsync(() => Task.FromResult(condition()), what, failures);

    private static async Task WaitUntilAsync(Func<Task<bool>> condition, string what, ConcurrentBag<string> failures)
    {
        var waited = System.Diagnostics.Stopwatch.StartNew();
        while (!await condition())
        {
            Assert.True(failures.IsEmpty, "a request failed: " + failures.FirstOrDefault());
            Assert.True(waited.Elapsed < TimeSpan.FromSeconds(60), $"no {what} within 60 s");
            await Task.Delay(50);
        }
    }

    /// <summary>Waits until the queue has a consumer (a broker process takes a few seconds to start).</summary>
    private static async Task WaitForConsumerAsync(Uri url, string queue, BrokerProcess? process)
    {
        var factory = new ConnectionFactory { Uri = url };
        await using var connection = await factory.CreateConnectionAsync();
        var waited = System.Diagnostics.Stopwatch.StartNew();
        while (true)
        {
            await using var channel = await connection.CreateChannelAsync();
            try
            {
                if ((await channel.QueueDeclarePassiveAsync(queue)).ConsumerCount >= 1)
                {
                    return;
                }
            }
            catch (RabbitMQ.Client.Exceptions.OperationInterruptedException)
            {
                // not declared yet
            }

            Assert.False(process?.HasExited ?? false, "billing exited:\n" + process?.Log);
            Assert.True(waited.Elapsed < TimeSpan.FromSeconds(90), "billing not consuming within 90 s:\n" + process?.Log);
            await Task.Delay(250);
        }
    }
}
