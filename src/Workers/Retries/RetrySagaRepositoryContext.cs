using MassTransit;
using MassTransit.Context;
using MassTransit.Saga;

namespace Broker.Workers.Retries;

/// <summary>Loads, inserts, updates and deletes retry saga instances for one consumed message.</summary>
public sealed class RetrySagaRepositoryContext<TMessage>(RetrySagaStore store, ConsumeContext<TMessage> context)
    : ConsumeContextScope<TMessage>(context), SagaRepositoryContext<ChatCompletionRetryState, TMessage>
    where TMessage : class
{
    public Task<SagaConsumeContext<ChatCompletionRetryState, TMessage>> Add(ChatCompletionRetryState instance) =>
        Task.FromResult<SagaConsumeContext<ChatCompletionRetryState, TMessage>>(new NewRetrySagaConsumeContext<TMessage>(store, context, instance));

    public async Task<SagaConsumeContext<ChatCompletionRetryState, TMessage>> Insert(ChatCompletionRetryState instance)
    {
        ArgumentNullException.ThrowIfNull(instance);
        return await store.InsertAsync(instance) ? Wrap(context, instance) : null!;
    }

    public async Task<SagaConsumeContext<ChatCompletionRetryState, TMessage>> Load(Guid correlationId) =>
        await store.LoadAsync(correlationId) is { } instance ? Wrap(context, instance) : null!;

    public async Task Save(SagaConsumeContext<ChatCompletionRetryState> context)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (!await store.InsertAsync(context.Saga))
        {
            throw new ConcurrencyException("Retry saga exists already", typeof(ChatCompletionRetryState), context.Saga.CorrelationId);
        }
    }

    public Task Update(SagaConsumeContext<ChatCompletionRetryState> context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return store.UpdateAsync(context.Saga);
    }

    public Task Delete(SagaConsumeContext<ChatCompletionRetryState> context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return store.DeleteAsync(context.Saga.CorrelationId);
    }

    public Task Discard(SagaConsumeContext<ChatCompletionRetryState> context) => Task.CompletedTask;

    public Task Undo(SagaConsumeContext<ChatCompletionRetryState> context) => Task.CompletedTask;

    public Task<SagaConsumeContext<ChatCompletionRetryState, T>> CreateSagaConsumeContext<T>(
        ConsumeContext<T> consumeContext, ChatCompletionRetryState instance, SagaConsumeContextMode mode)
        where T : class =>
        Task.FromResult(mode == SagaConsumeContextMode.Add
            ? new NewRetrySagaConsumeContext<T>(store, consumeContext, instance)
            : Wrap(consumeContext, instance));

    private static SagaConsumeContext<ChatCompletionRetryState, T> Wrap<T>(ConsumeContext<T> consumeContext, ChatCompletionRetryState instance)
        where T : class =>
        new DefaultSagaConsumeContext<ChatCompletionRetryState, T>(consumeContext, instance);
}
