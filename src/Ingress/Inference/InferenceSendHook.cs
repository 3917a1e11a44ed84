using Microsoft.AspNetCore.Http;

namespace Broker.Ingress.Inference;

/// <summary>
/// Tells a feature of the HTTP request being served each request id (<c>x-litellm-call-id</c>) that
/// <see cref="InferenceClient"/> is about to send to a queue for it, before the command goes out: the
/// <c>Idempotency-Key</c>'s claim records it, so when this Ingress dies with the call in flight a repeat names it.
/// </summary>
public sealed class InferenceSendHook
{
    private readonly Func<Guid, Task> _sending;

    private InferenceSendHook(Func<Guid, Task> sending) => _sending = sending;

    /// <summary>Calls <paramref name="sending"/> (awaited) before each command this HTTP request sends.</summary>
    public static void Set(HttpContext httpContext, Func<Guid, Task> sending)
    {
        ArgumentNullException.ThrowIfNull(httpContext);
        httpContext.Features.Set(new InferenceSendHook(sending));
    }

    /// <summary>Runs the hook of <paramref name="httpContext"/>'s request, if it has one.</summary>
    internal static Task SendingAsync(HttpContext? httpContext, Guid requestId) =>
        httpContext?.Features.Get<InferenceSendHook>() is { } hook ? hook._sending(requestId) : Task.CompletedTask;
}
