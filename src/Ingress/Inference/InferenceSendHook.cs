using Microsoft.AspNetCore.Http;

namespace Broker.Ingress.Inference;

/// <summary>
/// What a feature of the HTTP request being served (the <c>Idempotency-Key</c>) asks of <see cref="InferenceClient"/>:
/// to be told each request id (<c>x-litellm-call-id</c>) and deadline it is about to send to a queue, before the command
/// goes out (the key's claim records them, so when this Ingress dies with the call in flight a repeat names it and knows
/// how long it may still answer); to have the worker keep the answer for <see cref="KeepAnswerSeconds"/>; and, for a
/// repeat of a request whose Ingress died or lost the answer, to take that request's kept answer
/// (<see cref="Adopt"/>) instead of sending anything.
/// </summary>
public sealed class InferenceSendHook
{
    private readonly Func<Guid, DateTimeOffset, Task> _sending;
    private object? _adopted;

    private InferenceSendHook(Func<Guid, DateTimeOffset, Task> sending, int? keepAnswerSeconds)
    {
        _sending = sending;
        KeepAnswerSeconds = keepAnswerSeconds;
    }

    /// <summary>How long the worker keeps the answer for a repeat (the key's TTL); null: not kept.</summary>
    public int? KeepAnswerSeconds { get; }

    /// <summary>
    /// Calls <paramref name="sending"/> (awaited) with the request id and deadline before each command this HTTP request
    /// sends, and asks workers to keep its answer for <paramref name="keepAnswerSeconds"/>.
    /// </summary>
    public static void Set(HttpContext httpContext, Func<Guid, DateTimeOffset, Task> sending, int? keepAnswerSeconds)
    {
        ArgumentNullException.ThrowIfNull(httpContext);
        httpContext.Features.Set(new InferenceSendHook(sending, keepAnswerSeconds));
    }

    /// <summary>
    /// The first inference call of this HTTP request is answered with <paramref name="reply"/> (another request's kept
    /// answer, the one this request repeats), sending nothing. Call after <see cref="Set"/>.
    /// </summary>
    public static void Adopt(HttpContext httpContext, object reply)
    {
        ArgumentNullException.ThrowIfNull(httpContext);
        ArgumentNullException.ThrowIfNull(reply);
        var hook = httpContext.Features.Get<InferenceSendHook>() ?? throw new InvalidOperationException("InferenceSendHook.Set first");
        hook._adopted = reply;
    }

    /// <summary>The answer to take instead of sending (once), if this HTTP request repeats one whose answer was kept.</summary>
    internal static object? TakeAdopted(HttpContext? httpContext) =>
        httpContext?.Features.Get<InferenceSendHook>() is { } hook ? Interlocked.Exchange(ref hook._adopted, null) : null;

    /// <summary>How long workers should keep this HTTP request's answer; null when nobody will ask for it again.</summary>
    internal static int? KeepAnswerSecondsOf(HttpContext? httpContext) => httpContext?.Features.Get<InferenceSendHook>()?.KeepAnswerSeconds;

    /// <summary>Runs the hook of <paramref name="httpContext"/>'s request, if it has one.</summary>
    internal static Task SendingAsync(HttpContext? httpContext, Guid requestId, DateTimeOffset deadline) =>
        httpContext?.Features.Get<InferenceSendHook>() is { } hook ? hook._sending(requestId, deadline) : Task.CompletedTask;
}
