namespace Broker.Ingress.Features.Batches;

/// <summary>Where one request line of a batch stands (broker_batch_lines.status).</summary>
public static class BatchLineStatus
{
    public const string Pending = "pending";
    public const string InFlight = "in_flight";
    public const string Done = "done";
    public const string Failed = "failed";
    public const string Expired = "expired";
    public const string Cancelled = "cancelled";
}
