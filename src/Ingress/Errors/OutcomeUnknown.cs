using Microsoft.AspNetCore.Http;

namespace Broker.Ingress.Errors;

/// <summary>
/// Marks a response that tells the client its request failed although the request may have run, may still run, and
/// may be charged: the Ingress stopped waiting for it (504), lost its answer with the queue connection (502
/// <c>answer_lost</c>), or its stream broke off (<c>stream_interrupted</c>, <c>stream_stalled</c>). An
/// <c>Idempotency-Key</c> keeps such an outcome, so a repeat under it never runs the request a second time.
/// </summary>
public static class OutcomeUnknown
{
    private static readonly object Item = new();

    private static readonly object StoppedItem = new();

    /// <summary>Whether an error with this status and code leaves the request's outcome unknown.</summary>
    public static bool MayHaveRun(int statusCode, string? code) =>
        statusCode == StatusCodes.Status504GatewayTimeout || code is "answer_lost" or "stream_interrupted" or "stream_stalled";

    /// <summary>Records that this response is such an answer (an error result or a stream's error frame writes it).</summary>
    public static void Mark(HttpContext httpContext)
    {
        ArgumentNullException.ThrowIfNull(httpContext);
        httpContext.Items[Item] = true;
    }

    /// <summary>
    /// Whether such an error also means the Ingress stopped every attempt of the call (<c>stream_interrupted</c>: the
    /// client holds part of one generation, so every other attempt is cancelled): no answer is coming after it.
    /// </summary>
    public static bool StopsTheCall(string? code) => code is "stream_interrupted";

    /// <summary>Records that this response is such an answer and that the Ingress stopped the call (<see cref="StopsTheCall"/>).</summary>
    public static void MarkStopped(HttpContext httpContext)
    {
        Mark(httpContext);
        httpContext.Items[StoppedItem] = true;
    }

    /// <summary>True when the call behind this response was stopped by the Ingress: only an answer kept already may still appear.</summary>
    public static bool Stopped(HttpContext httpContext)
    {
        ArgumentNullException.ThrowIfNull(httpContext);
        return httpContext.Items.ContainsKey(StoppedItem);
    }

    /// <summary>True when this response told the client a failure whose request may have run.</summary>
    public static bool Answered(HttpContext httpContext)
    {
        ArgumentNullException.ThrowIfNull(httpContext);
        return httpContext.Items.ContainsKey(Item);
    }
}
