using Broker.Contracts.Inference;
using MassTransit;
using Microsoft.Extensions.Hosting;

namespace Broker.Ingress.Inference;

/// <summary>
/// Connects this instance's own bus endpoint (its ResponseAddress) to the requests it holds: workers' replies
/// and streamed chunk batches are addressed to it.
/// </summary>
public sealed class StreamReplyConnector(IBus bus, InferenceClient inference) : IHostedService
{
    private readonly List<ConnectHandle> _handles = [];

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _handles.Add(bus.ConnectHandler<ChatCompletionChunksStreamed>(context =>
        {
            inference.Deliver(context.Message);
            return Task.CompletedTask;
        }));
        _handles.Add(bus.ConnectHandler<ChatCompletionSucceeded>(context =>
        {
            inference.Reply(context.Message.RequestId, context.Message);
            return Task.CompletedTask;
        }));
        _handles.Add(bus.ConnectHandler<EmbeddingSucceeded>(context =>
        {
            inference.Reply(context.Message.RequestId, context.Message);
            return Task.CompletedTask;
        }));
        _handles.Add(bus.ConnectHandler<InferenceFailed>(context =>
        {
            inference.Reply(context.Message.RequestId, context.Message);
            return Task.CompletedTask;
        }));
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        foreach (var handle in _handles)
        {
            handle.Disconnect();
        }

        return Task.CompletedTask;
    }
}
