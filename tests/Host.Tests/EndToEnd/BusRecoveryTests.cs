using System.Diagnostics;
using System.Net;
using Broker.Host.Composition;
using Broker.Host.Tests.Bus;
using Broker.Host.Tests.Infrastructure;
using Broker.TestKit;
using RabbitMQ.Client;
using Xunit.Abstractions;

namespace Broker.Host.Tests.EndToEnd;

/// <summary>
/// After a RabbitMQ outage (every connection of every role cut, new ones refused, through a TCP proxy) longer than
/// MassTransit's first reconnect backoffs, every role consumes again and requests are answered within 5 s of
/// RabbitMQ being back.
/// </summary>
[Trait("Category", "Integration")]
public sealed class BusRecoveryTests(RabbitMqFixture rabbit, ITestOutputHelper output) : IClassFixture<RabbitMqFixture>
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(5);

    [Fact]
    public async Task Outage_RabbitMqBackAfter12Seconds_EveryRoleConsumesAndAnswersWithin5Seconds()
    {
        await using var upstream = await FakeUpstream.StartOpenAiAsync();
        var (url, vhost) = await rabbit.CreateVirtualHostAsync();
        await using var proxy = TcpProxy.Start(url.Host, url.Port);
        try
        {
            var proxied = new UriBuilder(url) { Port = proxy.Port }.Uri;
            await using var broker = await BrokerRunner.StartAsync(QueueTypeTests.Config(upstream), null, proxied,
                [(BrokerRoles.Workers, []), (BrokerRoles.Billing, []), (BrokerRoles.Ingress, [])]);
            Assert.Equal(HttpStatusCode.OK, await QueueTypeTests.ChatAsync(broker.Http));
            var queues = await ConsumedQueuesAsync(url);
            Assert.Contains("model-group.gpt-4o", queues);
            Assert.Contains("billing.usage-recorded", queues);

            // long enough for MassTransit's own backoff to have grown past 5 s (3, 6, 9... s between attempts)
            proxy.Cut();
            await Task.Delay(TimeSpan.FromSeconds(12));
            proxy.Restore();
            var back = Stopwatch.StartNew();

            using var http = new HttpClient { BaseAddress = broker.Http.BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
            TimeSpan? answered = null;
            TimeSpan? consumed = null;
            while (back.Elapsed < TimeSpan.FromSeconds(40) && (answered is null || consumed is null))
            {
                if (consumed is null && (await ConsumedQueuesAsync(url)).SetEquals(queues))
                {
                    consumed = back.Elapsed;
                }

                if (answered is null && await QueueTypeTests.ChatAsync(http) == HttpStatusCode.OK)
                {
                    answered = back.Elapsed;
                }

                await Task.Delay(100);
            }

            output.WriteLine($"after RabbitMQ was back: first answer {answered?.TotalSeconds:0.00} s, every queue consumed {consumed?.TotalSeconds:0.00} s");
            Assert.True(consumed is not null && consumed <= Bound, $"every queue had its consumer again after {consumed?.TotalSeconds:0.0} s");
            Assert.True(answered is not null && answered <= Bound, $"first answer after {answered?.TotalSeconds:0.0} s");
        }
        finally
        {
            await rabbit.DeleteVirtualHostAsync(vhost);
        }
    }

    /// <summary>
    /// RabbitMQ hangs (nothing comes back, publishes stay unconfirmed), then drops every connection, while a worker is in
    /// the middle of streamed and plain answers and Billing of usage events: their consumers wait for confirms of
    /// publishes that cannot be cancelled. RabbitMQ.Client tells the channels of a lost connection one after the other,
    /// each once its own deliveries are done, so such a consumer held every later channel (the retry saga's queue,
    /// Billing's other queues) in a dead state for good: they never consumed again. Every queue must have its
    /// consumer back within 5 s of RabbitMQ.
    /// </summary>
    [Fact]
    public async Task Outage_ConsumersWaitingForConfirmsWhenConnectionDrops_EveryQueueConsumedAgainWithin5Seconds()
    {
        await using var upstream = await FakeUpstream.StartOpenAiAsync();
        // long streams: every answer is still being streamed (chunks published one by one) when the connection drops
        upstream.ReplyText = string.Join(' ', Enumerable.Repeat("word", 400));
        upstream.ChunkDelay = TimeSpan.FromMilliseconds(10);
        // with a database Billing writes spend and publishes the new totals of each batch
        await using var db = await TestDatabase.CreateAsync();
        var (url, vhost) = await rabbit.CreateVirtualHostAsync();
        await using var proxy = TcpProxy.Start(url.Host, url.Port);
        try
        {
            var proxied = new UriBuilder(url) { Port = proxy.Port }.Uri;
            await using var broker = await BrokerRunner.StartAsync($$"""
                model_list:
                  - model_name: gpt-4o
                    litellm_params: { model: openai/gpt-4o, api_base: "{{upstream.BaseUrl}}/v1", api_key: k }
                general_settings:
                  database_url: "{{db.Url}}"
                  proxy_batch_write_at: 0.2
                """, null, proxied, [(BrokerRoles.Workers, []), (BrokerRoles.Billing, []), (BrokerRoles.Ingress, [])]);
            Assert.Equal(HttpStatusCode.OK, await QueueTypeTests.ChatAsync(broker.Http));
            var queues = await ConsumedQueuesAsync(url);
            Assert.Contains("model-group.gpt-4o", queues);
            Assert.Contains("chat-completion-retries", queues);
            Assert.Contains("billing.usage-recorded", queues);

            using var http = new HttpClient { BaseAddress = broker.Http.BaseAddress, Timeout = TimeSpan.FromSeconds(60) };
            using var load = new CancellationTokenSource();
            var clients = Enumerable.Range(0, 12).Select(i => Task.Run(async () =>
            {
                while (!load.IsCancellationRequested)
                {
                    try
                    {
                        using var content = new StringContent(
                            $$"""{"model":"gpt-4o","stream":{{(i % 3 == 0 ? "false" : "true")}},"messages":[{"role":"user","content":"hi"}]}""",
                            System.Text.Encoding.UTF8, "application/json");
                        using var response = await http.PostAsync("v1/chat/completions", content, load.Token);
                        await response.Content.ReadAsStringAsync(load.Token);
                    }
                    catch (Exception ex) when (ex is HttpRequestException or OperationCanceledException or IOException)
                    {
                        // the outage's errors are not what this test looks at
                    }
                }
            })).ToList();

            // the worker is streaming a dozen answers when RabbitMQ goes away
            var streaming = Stopwatch.StartNew();
            while (upstream.Requests.Count < 12 && streaming.Elapsed < TimeSpan.FromSeconds(20))
            {
                await Task.Delay(50);
            }

            await Task.Delay(1000);
            proxy.Stall();
            await Task.Delay(TimeSpan.FromSeconds(1.5));
            proxy.Cut();
            await Task.Delay(TimeSpan.FromSeconds(3));
            proxy.Restore();
            var back = Stopwatch.StartNew();
            TimeSpan? consumed = null;
            HashSet<string> last = [];
            while (back.Elapsed < TimeSpan.FromSeconds(30) && consumed is null)
            {
                last = await ConsumedQueuesAsync(url);
                if (last.IsSupersetOf(queues))
                {
                    consumed = back.Elapsed;
                }
                else
                {
                    await Task.Delay(100);
                }
            }

            await load.CancelAsync();
            await Task.WhenAll(clients);
            output.WriteLine($"after RabbitMQ was back: every queue consumed {consumed?.TotalSeconds:0.00} s; without a consumer then: {string.Join(", ", queues.Except(last))}");
            Assert.True(consumed is not null && consumed <= Bound,
                $"every queue had its consumer again after {consumed?.TotalSeconds:0.0} s (still without one after 30 s: {string.Join(", ", queues.Except(last))})");
            // the Ingress's own publish channel may come back a moment after the consumers: answered within the same bound
            var answered = Stopwatch.StartNew();
            var status = await QueueTypeTests.ChatAsync(http);
            while (status != HttpStatusCode.OK && answered.Elapsed < Bound)
            {
                await Task.Delay(200);
                status = await QueueTypeTests.ChatAsync(http);
            }

            Assert.Equal(HttpStatusCode.OK, status);
        }
        finally
        {
            await rabbit.DeleteVirtualHostAsync(vhost);
        }
    }

    /// <summary>Broker's durable queues (not error queues, not wait queues) that have a consumer now, read exactly (passive declares).</summary>
    private async Task<HashSet<string>> ConsumedQueuesAsync(Uri url)
    {
        var names = (await rabbit.GetQueuesAsync(url.AbsolutePath.Trim('/')))
            .Select(q => q!)
            .Where(q => !QueueTypeTests.Temporary(q))
            .Select(q => q["name"]!.GetValue<string>())
            .Where(n => !n.EndsWith("_error", StringComparison.Ordinal) && !n.EndsWith("_skipped", StringComparison.Ordinal) && !n.StartsWith("broker.wait.", StringComparison.Ordinal))
            .ToList();
        var consumed = new HashSet<string>(StringComparer.Ordinal);
        await using var connection = await new ConnectionFactory { Uri = url }.CreateConnectionAsync();
        foreach (var name in names)
        {
            await using var channel = await connection.CreateChannelAsync();
            if ((await channel.QueueDeclarePassiveAsync(name)).ConsumerCount > 0)
            {
                consumed.Add(name);
            }
        }

        return consumed;
    }
}
