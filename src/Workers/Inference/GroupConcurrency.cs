using Broker.Config.Model;

namespace Broker.Workers.Inference;

/// <summary>How many requests of one model group a worker process runs at once.</summary>
public static class GroupConcurrency
{
    /// <summary>Per-deployment default when neither the deployment nor general_settings sets max_parallel_requests.</summary>
    public const int DefaultPerDeployment = ModelGroup.DefaultMaxParallelRequestsPerDeployment;

    /// <summary>The sum over the group's deployments of max_parallel_requests (else the general default).</summary>
    public static int For(ModelGroup group, GeneralSettings general)
    {
        ArgumentNullException.ThrowIfNull(group);
        return group.Concurrency(general);
    }
}
