using Broker.Config.Model;

namespace Broker.Workers.RateLimits;

/// <summary>
/// The limits that hold across worker processes for one deployment: <c>max_parallel_requests</c> (else
/// general_settings.max_parallel_requests), <c>rpm</c> and <c>tpm</c>. Null = no limit.
/// </summary>
public sealed record DeploymentLimits(int? MaxParallel, int? Rpm, int? Tpm)
{
    public static DeploymentLimits For(ModelDeployment deployment, GeneralSettings general)
    {
        ArgumentNullException.ThrowIfNull(deployment);
        ArgumentNullException.ThrowIfNull(general);
        return new DeploymentLimits(
            Positive(deployment.MaxParallelRequests ?? general.MaxParallelRequests),
            Positive(deployment.Rpm),
            Positive(deployment.Tpm));
    }

    /// <summary>True when <paramref name="load"/> leaves room for one more request.</summary>
    public bool Admits(DeploymentLoad load)
    {
        ArgumentNullException.ThrowIfNull(load);
        return (MaxParallel is not { } p || load.InFlight < p) &&
               (Rpm is not { } r || load.RequestsThisMinute < r) &&
               (Tpm is not { } t || load.TokensThisMinute < t);
    }

    private static int? Positive(int? value) => value is > 0 ? value : null;
}
