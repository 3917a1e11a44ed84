using Microsoft.Extensions.Hosting;

namespace Broker.Workers.Retries;

/// <summary>Stops a worker's start when its retry saga would have no shared state store (<see cref="RetrySagaStore.EnsureUsable"/>).</summary>
internal sealed class RetrySagaStoreCheck(RetrySagaStore store) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        store.EnsureUsable();
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
