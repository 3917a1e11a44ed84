using MassTransit;
using MassTransit.Context;
using MassTransit.Saga;

namespace Broker.Workers.Retries;

/// <summary>Loads, inserts, updates and deletes retry saga instances for one consumed message.</summary>
public sealed class RetrySagaRepositoryContext<TMessage> : ConsumeContextScope<TMessage>, SagaRepositoryContext<ChatCompletionRetryState, TMessage>
    where TMessage : class
{
    private readonly RetrySagaStore _store;
    private readonly ConsumeContext<TMessage> _context;

    public RetrySagaRepositoryContext(RetrySagaStore store, ConsumeContext<TMessage> context)
        : base(context)
    {
        _store = store;
        _context = context;
    }

    public Task<SagaConsumeContext<ChatCompletionRetryState, TMessage>> Add(ChatCompletionRetryState instance) =>
        Task.FromResult<SagaConsumeContext<ChatCompletionRetryState, TMessage>>(new NewRetrySagaConsumeContext<TMessage>(_store, _context, instance));

    public async Task<SagaConsumeContext<ChatCompletionRetryState, TMessage>> Insert(ChatCompletionRetryState instance)
    {
        ArgumentNullException.ThrowIfNull(instance);
        return await _store.InsertAsync(instance) ? Wrap(_context, instance) : null!;
    }

    public async Task<SagaConsumeContext<ChatCompletionRetryState, TMessage>> Load(Guid correlationId) =>
        await _store.LoadAsync(correlationId) is { } instance ? Wrap(_context, instance) : null!;

    public async Task Save(SagaConsumeContext<ChatCompletionRetryState> context)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (!await _store.InsertAsync(context.Saga))
        {
            throw new ConcurrencyException("Retry saga exists already", typeof(ChatCompletionRetryState), context.Saga.CorrelationId);
        }
    }

    public Task Update(SagaConsumeContext<ChatCompletionRetryState> context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return _store.UpdateAsync(context.Saga);
    }

    public Task Delete(SagaConsumeContext<ChatCompletionRetryState> context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return _store.DeleteAsync(context.Saga.CorrelationId);
    }

    public Task Discard(SagaConsumeContext<ChatCompletionRetryState> context) => Task.CompletedTask;

    public Task Undo(SagaConsumeContext<ChatCompletionRetryState> context) => Task.CompletedTask;

    public Task<SagaConsumeContext<ChatCompletionRetryState, T>> CreateSagaConsumeContext<T>(
        ConsumeContext<T> consumeContext, ChatCompletionRetryState instance, SagaConsumeContextMode mode)
        where T : class =>
        Task.FromResult<SagaConsumeContext<ChatCompletionRetryState, T>>(mode == SagaConsumeContextMode.Add
            ? new NewRetrySagaConsumeContext<T>(_store, consumeContext, instance)
            : Wrap(consumeContext, instance));

    private static DefaultSagaConsumeContext<ChatCompletionRetryState, T> Wrap<T>(ConsumeContext<T> consumeContext, ChatCompletionRetryState instance)
        where T : class =>
        new DefaultSagaConsumeContext<ChatCompletionRetryState, T>(consumeContext, instance);
}
