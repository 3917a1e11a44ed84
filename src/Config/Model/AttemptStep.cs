namespace Broker.Config.Model;

/// <summary>
/// How long one attempt of a chat completion (the first, sent by the Ingress, or a retry or fallback, sent by the retry
/// saga) is given before it is given up on and the next step goes out: the longest call its group's deployments allow
/// (<c>litellm_params.timeout</c>, <c>stream_timeout</c> for a stream; at most <c>router_settings.timeout</c>) plus
/// <see cref="Grace"/>, counted from when it is sent, and never past the request's deadline.
/// </summary>
public static class AttemptStep
{
    /// <summary>LiteLLM's default request timeout, when router_settings.timeout is not set.</summary>
    public static readonly TimeSpan DefaultRequestTimeout = TimeSpan.FromSeconds(600);

    /// <summary>Time a step is given beyond its provider call: the queue, routing, the answer's way back.</summary>
    public static readonly TimeSpan Grace = TimeSpan.FromSeconds(3);

    /// <summary>When an attempt sent at <paramref name="startsAt"/> is given up on (at the latest <paramref name="deadline"/>).</summary>
    public static DateTimeOffset DueAt(
        ProxyConfig config, ModelGroup group, string? deploymentId, bool stream, DateTimeOffset startsAt, DateTimeOffset deadline)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(group);
        var request = config.RouterSettings.Timeout ?? DefaultRequestTimeout;
        var call = TimeSpan.Zero;
        foreach (var deployment in group.Deployments.Where(d => deploymentId is null || d.Id == deploymentId))
        {
            var timeout = (stream ? deployment.StreamTimeout ?? deployment.Timeout : deployment.Timeout) ?? request;
            call = timeout > call ? timeout : call;
        }

        call = call == TimeSpan.Zero || call > request ? request : call;
        var due = startsAt + call + Grace;
        return due < deadline ? due : deadline;
    }
}
