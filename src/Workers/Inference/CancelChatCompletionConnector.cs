using Broker.Contracts.Inference;
using Broker.ServiceDefaults.Bus;
using MassTransit;
using Microsoft.Extensions.Hosting;

namespace Broker.Workers.Inference;

/// <summary>Listens on this worker's own address (<see cref="InstanceEndpoint"/>) for <see cref="CancelChatCompletion"/> from the Ingress.</summary>
public sealed class CancelChatCompletionConnector(InstanceEndpoint instance, StreamCancellations cancellations) : IHostedService
{
    private ConnectHandle? _handle;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _handle = instance.ConnectHandler<CancelChatCompletion>(message =>
        {
            cancellations.Cancel(message.RequestId, message.AttemptId);
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
