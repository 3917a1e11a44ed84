using Broker.Contracts.Inference;
using Broker.ServiceDefaults.Bus;
using MassTransit;
using Microsoft.Extensions.Hosting;

namespace Broker.Ingress.Inference;

/// <summary>
/// Connects this instance's own endpoint (its ResponseAddress, see <see cref="InstanceEndpoint"/>) to the requests it holds: workers' replies
/// and streamed chunk batches are addressed to it.
/// </summary>
public sealed class StreamReplyConnector(InstanceEndpoint instance, InferenceClient inference) : IHostedService
{
    private readonly List<ConnectHandle> _handles = [];

    public Task StartAsync(CancellationToken cancellationToken)
    {
        instance.ReceivingLost += inference.FailOutstanding;
        _handles.Add(instance.ConnectHandler<ChatCompletionChunksStreamed>(message =>
        {
            inference.Deliver(message);
            return Task.CompletedTask;
        }));
        _handles.Add(instance.ConnectHandler<ChatCompletionSucceeded>(message =>
        {
            inference.Reply(message.RequestId, message);
            return Task.CompletedTask;
        }));
        _handles.Add(instance.ConnectHandler<EmbeddingSucceeded>(message =>
        {
            inference.Reply(message.RequestId, message);
            return Task.CompletedTask;
        }));
        _handles.Add(instance.ConnectHandler<RerankSucceeded>(message =>
        {
            inference.Reply(message.RequestId, message);
            return Task.CompletedTask;
        }));
        _handles.Add(instance.ConnectHandler<InferenceFailed>(message =>
        {
            inference.Reply(message.RequestId, message);
            return Task.CompletedTask;
        }));
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        instance.ReceivingLost -= inference.FailOutstanding;
        foreach (var handle in _handles)
        {
            handle.Disconnect();
        }

        return Task.CompletedTask;
    }
}
