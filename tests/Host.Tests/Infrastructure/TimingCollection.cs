namespace Broker.Host.Tests.Infrastructure;

/// <summary>
/// Tests whose assertion is a ratio of wall-clock times (two workers against one, live latency beside a batch):
/// they run on their own, after the parallel collections, so the rest of the suite on two cores does not decide
/// the ratio.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class TimingCollection : ICollectionFixture<RabbitMqFixture>
{
    public const string Name = "timing";
}
