namespace Broker.Ingress.Features.Batches;

/// <summary>A line's outcome, waiting to be recorded: its status (done or failed) and its output or error file line.</summary>
public sealed record LineResult(string BatchId, int LineNo, string Status, string Result);
