using System.Net;
using Broker.Host.Composition;
using Broker.Host.Tests.Infrastructure;
using Broker.TestKit;
using RabbitMQ.Client;
using RabbitMQ.Client.Events;

namespace Broker.Host.Tests.Bus;

/// <summary>
/// Usage alerts and callbacks each take a copy of every finished request on their own queue, and only while config.yaml
/// turns them on: when it does not, the queue is not declared, and one left bound from an earlier start is removed so
/// that the copies do not pile up with nobody consuming them.
/// </summary>
[Trait("Category", "Integration")]
public sealed class RetiredQueuesTests(RabbitMqFixture rabbit) : IClassFixture<RabbitMqFixture>
{
    private const string UsageAlerts = "billing.usage-alerts";
    private const string Callbacks = "billing.callbacks";

    [Fact]
    public async Task Start_AlertsAndCallbacksTurnedOff_TheirQueuesAndExchangesAreRemoved()
    {
        await using var upstream = await FakeUpstream.StartOpenAiAsync();
        await using var receiver = await FakeReceiver.StartAsync();
        var (url, vhost) = await rabbit.CreateVirtualHostAsync();
        try
        {
            var env = new Dictionary<string, string> { ["WEBHOOK_URL"] = $"{receiver.BaseUrl}/alerts", ["GENERIC_LOGGER_ENDPOINT"] = $"{receiver.BaseUrl}/log" };
            var on = QueueTypeTests.Config(upstream) + """

                litellm_settings:
                  success_callback: ["generic"]
                general_settings:
                  alerting: ["webhook"]
                """;
            await using (await BrokerRunner.StartAsync(on, env, url, [(BrokerRoles.Billing, [])]))
            {
                var queues = await QueueNamesAsync(vhost);
                Assert.Contains(UsageAlerts, queues);
                Assert.Contains(Callbacks, queues);
            }

            // bound to UsageRecorded's exchange with nobody consuming them now: every request would add a message to each
            Assert.Contains(UsageAlerts, await rabbit.GetExchangeNamesAsync(vhost));
            await using (var broker = await BrokerRunner.StartDistributedAsync(QueueTypeTests.Config(upstream), url))
            {
                Assert.Equal(HttpStatusCode.OK, await QueueTypeTests.ChatAsync(broker.Http));
                var queues = await QueueNamesAsync(vhost);
                Assert.DoesNotContain(UsageAlerts, queues);
                Assert.DoesNotContain(Callbacks, queues);
                Assert.Contains("billing.usage-recorded", queues);
                var exchanges = await rabbit.GetExchangeNamesAsync(vhost);
                Assert.DoesNotContain(UsageAlerts, exchanges);
                Assert.DoesNotContain(Callbacks, exchanges);
            }
        }
        finally
        {
            await rabbit.DeleteVirtualHostAsync(vhost);
        }
    }

    [Fact]
    public async Task Start_RetiredQueueStillConsumedElsewhere_LeftUntilNothingConsumesIt()
    {
        await using var upstream = await FakeUpstream.StartOpenAiAsync();
        var (url, vhost) = await rabbit.CreateVirtualHostAsync();
        try
        {
            // another Billing process, still on a config with usage alerts, consumes the queue during a rolling update
            var factory = new ConnectionFactory { Uri = url };
            await using (var connection = await factory.CreateConnectionAsync())
            await using (var channel = await connection.CreateChannelAsync())
            {
                await channel.QueueDeclareAsync(UsageAlerts, durable: true, exclusive: false, autoDelete: false);
                await channel.BasicConsumeAsync(UsageAlerts, autoAck: false, new AsyncEventingBasicConsumer(channel));
                await using (await BrokerRunner.StartAsync(QueueTypeTests.Config(upstream), null, url, [(BrokerRoles.Billing, [])]))
                {
                    Assert.Contains(UsageAlerts, await QueueNamesAsync(vhost));
                }
            }

            await using (await BrokerRunner.StartAsync(QueueTypeTests.Config(upstream), null, url, [(BrokerRoles.Billing, [])]))
            {
                Assert.DoesNotContain(UsageAlerts, await QueueNamesAsync(vhost));
            }
        }
        finally
        {
            await rabbit.DeleteVirtualHostAsync(vhost);
        }
    }

    private async Task<List<string>> QueueNamesAsync(string vhost) =>
        (await rabbit.GetQueuesAsync(vhost)).Select(q => q!["name"]!.GetValue<string>()).ToList();
}
