using Broker.Host.Tests.Infrastructure;
using Broker.TestKit;
using static Broker.Host.Tests.Caching.CacheCalls;

namespace Broker.Host.Tests.Caching;

/// <summary>The cache in a separate Ingress process over RabbitMQ: a hit never reaches the queue or the provider.</summary>
public sealed class DistributedCacheTests(RabbitMqFixture rabbit) : IClassFixture<RabbitMqFixture>
{
    [Fact]
    [Trait("Category", "Integration")]
    public async Task Chat_Distributed_HitAnsweredByIngressAlone()
    {
        await using var upstream = await FakeUpstream.StartOpenAiAsync();
        var (url, vhost) = await rabbit.CreateVirtualHostAsync();
        try
        {
            await using var broker = await BrokerRunner.StartDistributedAsync(LocalCacheFixture.Yaml(upstream, """
                  cache: true
                """), url);
            var prompt = "prompt " + Guid.NewGuid().ToString("N");
            await ChatAsync(broker, Chat(prompt));

            // with the workers gone, only the cache can answer
            foreach (var host in broker.Hosts.Take(2).ToList())
            {
                await broker.StopHostAsync(host);
            }

            var hit = await ChatAsync(broker, Chat(prompt, "\"stream\":true"));

            Assert.True(hit.Hit);
            Assert.Equal("Hello from the fake provider", StreamedText(hit.Text));
            Assert.Single(upstream.Requests);
        }
        finally
        {
            await rabbit.DeleteVirtualHostAsync(vhost);
        }
    }
}
