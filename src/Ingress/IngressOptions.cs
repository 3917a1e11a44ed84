using System.ComponentModel.DataAnnotations;

namespace Broker.Ingress;

/// <summary>Ingress host settings (appsettings / environment, section <c>Ingress</c>, e.g. <c>Ingress__SseKeepAliveSeconds=15</c>).</summary>
public sealed class IngressOptions
{
    /// <summary>SSE comment sent while a stream waits this long for its next token, so idle-timeout proxies keep it; 0 = off.</summary>
    [Range(0d, double.MaxValue, ErrorMessage = "{0} must be 0 or more")]
    public double SseKeepAliveSeconds { get; set; } = 10;

    /// <summary>A stream that received nothing for this long after its first chunk is ended with an error (a lost chunk).</summary>
    [Range(0d, double.MaxValue, MinimumIsExclusive = true, ErrorMessage = "{0} must be more than 0")]
    public double StreamIdleTimeoutSeconds { get; set; } = 120;

    /// <summary>
    /// On shutdown, the longest wait for open requests and streams to finish before the bus (which carries their
    /// answers) stops; the probes say <c>shutting_down</c> meanwhile.
    /// </summary>
    [Range(0d, double.MaxValue, ErrorMessage = "{0} must be 0 or more")]
    public double DrainSeconds { get; set; } = 30;

    /// <summary>
    /// Batch lines this Ingress runs at once per model group, as a share of the group's concurrency (the sum of its
    /// deployments' max_parallel_requests): the rest stays free for live requests.
    /// </summary>
    [Range(0d, 1d, MinimumIsExclusive = true, ErrorMessage = "{0} must be more than 0 and at most 1")]
    public double BatchConcurrencyShare { get; set; } = 0.5;

    /// <summary>
    /// The longest a live request waits for the message queue to take it (RabbitMQ down or unreachable) before it is
    /// answered 503 <c>queue_unavailable</c> instead of hanging; batch lines wait for the queue instead.
    /// </summary>
    [Range(0d, double.MaxValue, MinimumIsExclusive = true, ErrorMessage = "{0} must be more than 0")]
    public double QueueSendTimeoutSeconds { get; set; } = 5;

    /// <summary>How often the batch dispatcher looks for new, cancelled, expired and finished batches.</summary>
    [Range(0d, double.MaxValue, MinimumIsExclusive = true, ErrorMessage = "{0} must be more than 0")]
    public double BatchPollSeconds { get; set; } = 1;

    /// <summary>
    /// File uploads (POST /v1/files) one key may have in progress at once on this Ingress; more are answered 429.
    /// 0 = no limit.
    /// </summary>
    [Range(0, int.MaxValue, ErrorMessage = "{0} must be 0 or more")]
    public int MaxConcurrentUploadsPerKey { get; set; } = 4;
}
