using Broker.Config.Model;
using Broker.ServiceDefaults.Health;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Broker.Workers.Health;

/// <summary>
/// general_settings.background_health_checks: every health_check_interval, probes each deployment of the groups
/// this worker serves (those in force at each round, runtime models included) (<see cref="DeploymentProbe"/>) and posts the results on the <see cref="DeploymentHealthBoard"/>,
/// where <c>GET /health</c> shows them and routing skips the unhealthy. With Redis, one worker per group and
/// interval does the round, however many replicas run. The first round starts with the worker.
/// </summary>
public sealed class BackgroundHealthChecks(
    Func<IReadOnlyList<ModelGroup>> served,
    DeploymentHealthBoard board,
    DeploymentProbe probe,
    TimeProvider timeProvider,
    ILogger<BackgroundHealthChecks> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!board.Enabled)
        {
            return;
        }

        Log.HealthChecksStarted(logger, served().Where(g => !g.IsWildcard).Sum(g => g.Deployments.Count), board.Interval.TotalSeconds);
        // let the host finish starting before the first round
        await Task.Yield();
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                // the groups in force at each round: a reload or a runtime model adds or removes some
                await RunRoundAsync(served().Where(g => !g.IsWildcard).ToList(), stoppingToken);
                await Task.Delay(board.Interval, timeProvider, stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
        }
    }

    /// <summary>One round over the groups this process claims.</summary>
    public async Task RunRoundAsync(IReadOnlyList<ModelGroup> groups, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(groups);
        var timeout = board.Interval < DeploymentProbe.MaxTimeout ? board.Interval : DeploymentProbe.MaxTimeout;
        var checks = new List<Task>();
        foreach (var group in groups)
        {
            if (!await board.TryClaimRoundAsync(group.Name, cancellationToken))
            {
                continue;
            }

            checks.AddRange(group.Deployments.Where(DeploymentProbe.IsProbed).Select(d => CheckAsync(group, d, timeout, cancellationToken)));
        }

        await Task.WhenAll(checks);
    }

    private async Task CheckAsync(ModelGroup group, ModelDeployment deployment, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var error = await probe.CheckAsync(group, deployment, timeout, cancellationToken);
        if (error is not null)
        {
            Log.DeploymentUnhealthy(logger, group.Name, deployment.Id, error);
        }

        await board.ReportAsync(new DeploymentHealth(group.Name, deployment.Id, deployment.Model, deployment.ApiBase, error is null, error, timeProvider.GetUtcNow()),
            cancellationToken);
    }
}
