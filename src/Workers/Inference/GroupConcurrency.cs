using Broker.Config.Model;

namespace Broker.Workers.Inference;

/// <summary>How many requests of one model group a worker process runs at once.</summary>
public static class GroupConcurrency
{
    /// <summary>Per-deployment default when neither the deployment nor general_settings sets max_parallel_requests.</summary>
    public const int DefaultPerDeployment = 64;

    /// <summary>The sum over the group's deployments of max_parallel_requests (else the general default).</summary>
    public static int For(ModelGroup group, GeneralSettings general)
    {
        ArgumentNullException.ThrowIfNull(group);
        ArgumentNullException.ThrowIfNull(general);
        var sum = group.Deployments.Sum(d => (long)(d.MaxParallelRequests ?? general.MaxParallelRequests ?? DefaultPerDeployment));
        return (int)Math.Clamp(sum, 1, 10_000);
    }
}
