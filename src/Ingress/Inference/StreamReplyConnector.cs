using Broker.Contracts.Inference;
using MassTransit;
using Microsoft.Extensions.Hosting;

namespace Broker.Ingress.Inference;

/// <summary>Connects this instance's bus endpoint to the streams it holds: chunk batches are addressed to it.</summary>
public sealed class StreamReplyConnector(IBus bus, InferenceClient inference) : IHostedService
{
    private ConnectHandle? _handle;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _handle = bus.ConnectHandler<ChatCompletionChunksStreamed>(context =>
        {
            inference.Deliver(context.Message);
            return Task.CompletedTask;
        });
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        _handle?.Disconnect();
        return Task.CompletedTask;
    }
}
