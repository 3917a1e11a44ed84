namespace Broker.Host.Tests.Infrastructure;

/// <summary>
/// A collection for RabbitMQ tests that must not run beside each other. Most distributed test classes take the
/// fixture as an <c>IClassFixture</c> instead and run in parallel: each test has its own virtual host.
/// </summary>
[CollectionDefinition(Name)]
public sealed class RabbitMqCollection : ICollectionFixture<RabbitMqFixture>
{
    public const string Name = "rabbitmq";
}
