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
