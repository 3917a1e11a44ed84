using MassTransit;
using MassTransit.Saga;

namespace Broker.Workers.Retries;

/// <summary>MassTransit's entry to <see cref="RetrySagaStore"/>: one repository context per consumed message.</summary>
public sealed class RetrySagaRepositoryContextFactory(RetrySagaStore store) : ISagaRepositoryContextFactory<ChatCompletionRetryState>
{
    public void Probe(ProbeContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        context.Add("persistence", "broker-retry-saga-store");
    }

    public Task Send<T>(ConsumeContext<T> context, IPipe<SagaRepositoryContext<ChatCompletionRetryState, T>> next)
        where T : class
    {
        ArgumentNullException.ThrowIfNull(next);
        return next.Send(new RetrySagaRepositoryContext<T>(store, context));
    }

    public Task SendQuery<T>(ConsumeContext<T> context, ISagaQuery<ChatCompletionRetryState> query,
        IPipe<SagaRepositoryQueryContext<ChatCompletionRetryState, T>> next)
        where T : class =>
        throw new NotSupportedException("The retry saga is correlated by RequestId only; it has no queries.");
}
