using Broker.Config.Model;
using Broker.ServiceDefaults.Bus;
using Broker.Workers.Retries;
using MassTransit;
using MassTransit.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace Broker.Workers.Inference;

/// <summary>One receive endpoint per served model group, each with its own concurrency limit.</summary>
public sealed class InferenceBusContribution(ProxyConfig config, IReadOnlyCollection<ModelGroup> groups, int? concurrencyPerGroup = null) : IBusContribution
{
    public void AddConsumers(IBusRegistrationConfigurator configurator)
    {
        ArgumentNullException.ThrowIfNull(configurator);
        configurator.AddConsumer<CreateChatCompletionConsumer>().ExcludeFromConfigureEndpoints();
        configurator.AddConsumer<CreateEmbeddingConsumer>().ExcludeFromConfigureEndpoints();
        configurator.AddConsumer<CreateRerankConsumer>().ExcludeFromConfigureEndpoints();
        configurator.AddSagaStateMachine<ChatCompletionRetryStateMachine, ChatCompletionRetryState>()
            .Repository(r => r.RegisterSagaRepository<ChatCompletionRetryState, RetrySagaStore,
                MassTransit.Saga.SagaConsumeContextFactory<RetrySagaStore, ChatCompletionRetryState>, RetrySagaRepositoryContextFactory>())
            .ExcludeFromConfigureEndpoints();
    }

    /// <summary>A model group's queue: the inference consumers, at most <paramref name="limit"/> at once (also for groups added at run time).</summary>
    public static void ConfigureGroupEndpoint(IReceiveEndpointConfigurator e, IBusRegistrationContext context, int limit)
    {
        ArgumentNullException.ThrowIfNull(e);
        // commands are sent to the queue directly: no fan-out binding to the message type's exchange
        e.ConfigureConsumeTopology = false;
        e.PrefetchCount = limit;
        e.ConcurrentMessageLimit = limit;
        e.ConfigureConsumer<CreateChatCompletionConsumer>(context);
        e.ConfigureConsumer<CreateEmbeddingConsumer>(context);
        e.ConfigureConsumer<CreateRerankConsumer>(context);
        // an attempt whose ticket the saga's store refused is answered with 503, not left to the request's timeout
        e.ConfigureError(x => x.UseFilter(new AttemptStoreFailureAnswer(context)));
        e.UseBrokerDeadLetters(context);
    }

    public void ConfigureEndpoints(IBusRegistrationContext context, IBusFactoryConfigurator configurator)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(configurator);
        var logger = context.GetRequiredService<ILogger<InferenceBusContribution>>();
        foreach (var group in groups)
        {
            var limit = GroupConcurrency.For(group, config.GeneralSettings);
            if (concurrencyPerGroup is { } cap)
            {
                limit = Math.Clamp(cap, 1, limit);
            }

            configurator.ReceiveEndpoint(group.QueueName, e => ConfigureGroupEndpoint(e, context, limit));
            Log.Consuming(logger, group.Name, group.QueueName, limit);
        }

        // every worker process consumes the retry saga's queue; its instances are shared through RetrySagaStore
        configurator.ReceiveEndpoint(ChatCompletionRetryStateMachine.QueueName, e =>
        {
            e.UseMessageRetry(r =>
            {
                // another report changed the instance meanwhile; or PostgreSQL or Redis, where the state lives, failed:
                // try again, for longer than Redis is marked down after a failure, then the message is dead-lettered
                r.Handle<ConcurrencyException>();
                r.Handle<RedisException>();
                r.Handle<Npgsql.NpgsqlException>();
                r.Handle<TimeoutException>();
                r.Intervals(10, 50, 100, 250, 500, 1000, 2000, 4000);
            });
            // no outbox: the next step goes out before the new state is stored (send, then save), so no crash between
            // the two loses it; the attempt ticket drops the copy a redelivered report sends again
            e.ConfigureSaga<ChatCompletionRetryState>(context);
            // a failed attempt's report the store kept refusing is answered with its own error, not left to the timeout
            e.ConfigureError(x => x.UseFilter(new SagaStoreFailureAnswer(context)));
            e.UseBrokerDeadLetters(context);
        });
    }
}
