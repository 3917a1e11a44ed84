using System.Diagnostics;
using System.Diagnostics.Metrics;
using Broker.ServiceDefaults.Health;
using Broker.ServiceDefaults.Observability;
using Microsoft.Extensions.Hosting;

namespace Broker.Ingress.Features.Health;

/// <summary>
/// <c>litellm_deployment_state</c> on <c>GET /metrics</c> from the background health checks, as LiteLLM reports it:
/// 0 healthy, 2 complete outage (failed its last check); labels model_group, model_id, api_base.
/// </summary>
public sealed class DeploymentHealthMetrics : IHostedService
{
    public DeploymentHealthMetrics(BrokerMetrics metrics, DeploymentHealthBoard board)
    {
        ArgumentNullException.ThrowIfNull(metrics);
        ArgumentNullException.ThrowIfNull(board);
        metrics.Meter.CreateObservableGauge("litellm_deployment_state", () => board.Latest().Select(h => new Measurement<int>(h.Healthy ? 0 : 2, new TagList
        {
            { "model_group", h.ModelGroup },
            { "model_id", h.DeploymentId },
            { "api_base", h.ApiBase ?? "" },
        })), description: "Deployment state from the background health checks: 0 healthy, 2 failed its last check");
    }

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
