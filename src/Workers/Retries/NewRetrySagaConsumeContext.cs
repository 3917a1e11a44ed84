using MassTransit;
using MassTransit.Context;

namespace Broker.Workers.Retries;

/// <summary>
/// A saga instance created for this message (not inserted beforehand): stored when the message's handling ends,
/// unless the saga finished within it.
/// </summary>
public sealed class NewRetrySagaConsumeContext<TMessage>(RetrySagaStore store, ConsumeContext<TMessage> context, ChatCompletionRetryState instance)
    : DefaultSagaConsumeContext<ChatCompletionRetryState, TMessage>(context, instance), IAsyncDisposable
    where TMessage : class
{
    public async ValueTask DisposeAsync()
    {
        if (!IsCompleted && !await store.InsertAsync(Saga))
        {
            throw new ConcurrencyException("Retry saga exists already", typeof(ChatCompletionRetryState), Saga.CorrelationId);
        }
    }
}
