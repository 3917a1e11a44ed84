using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Broker.Config;
using Broker.Ingress.Auth;
using Broker.Ingress.Errors;
using Broker.Ingress.Http;
using Broker.Ingress.Inference;
using Broker.Ingress.Streaming;
using Broker.ServiceDefaults.Redis;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Broker.Ingress.Idempotency;

/// <summary>
/// Idempotent retries for the routes declared <c>.Idempotent()</c> (<see cref="IdempotencyEndpointExtensions"/>): a
/// request with an <c>Idempotency-Key</c> (or <c>x-idempotency-key</c>) header claims the key, scoped by its caller
/// (virtual key, JWT user/team, or the admin) and fingerprinted by route and body. A repeat while it runs waits for it;
/// a repeat after it finished gets its answer (status, headers, body or the whole event stream) with
/// <c>idempotent-replayed: true</c>, never a second provider call or charge. The same key with another body or route is
/// a 422. An answer that a retry may fix (5xx, 408, 429, a stream that broke off or that the client left) gives the key
/// back instead. A request the client was told failed although it may have run (504, 502 <c>answer_lost</c>), or whose
/// Ingress died with it in flight (its lease expired), is never run again either: its repeat follows its call and gets
/// the answer the workers kept for it (<see cref="KeptAnswers"/>, waiting while the call may still answer), else a 409.
/// Runs after the access check, so a refused request claims nothing.
/// </summary>
public sealed class IdempotencyFilter(
    IdempotencyStore store, KeptAnswers answers, IProxyConfigProvider config, IdempotencyOptions options, TimeProvider time,
    ILogger<IdempotencyFilter> logger) : IEndpointFilter
{
    public const string KeyHeader = "Idempotency-Key";

    public const string AlternateKeyHeader = "x-idempotency-key";

    public const string ReplayedHeader = "idempotent-replayed";

    private const string CallIdHeader = "x-litellm-call-id";

    /// <summary>How long after its deadline a call may still have its answer kept (a worker finishing right at it).</summary>
    private static readonly TimeSpan AnswerGrace = TimeSpan.FromSeconds(5);

    /// <summary>Headers of the first answer that belong to its connection, not to the answer: never replayed.</summary>
    private static readonly HashSet<string> ConnectionHeaders = new(StringComparer.OrdinalIgnoreCase)
    {
        "Date", "Server", "Transfer-Encoding", "Content-Length", "Connection", "Keep-Alive",
    };

    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(next);
        var http = context.HttpContext;
        var key = KeyOf(http.Request);
        if (key is null)
        {
            return await next(context);
        }

        var shape = ShapeOf(http);
        if (key.Length == 0 || key.Length > IdempotencyOptions.MaxKeyLength)
        {
            return shape(OpenAiErrorResult.BadRequest(
                $"{KeyHeader} must be 1 to {IdempotencyOptions.MaxKeyLength} characters", KeyHeader, "invalid_idempotency_key"));
        }

        var body = await RequestBody.ReadAsync(http, config);
        var fingerprint = Hash(http.Request.Method + " " + RoutePath(http.Request.Path) + "\n" + body.Text);
        var storeKey = Hash(ScopeOf(http) + "\n" + key);
        var cancellationToken = http.RequestAborted;
        var streamed = body.Json?["stream"] is JsonValue s && s.TryGetValue<bool>(out var isStream) && isStream;
        while (true)
        {
            var claim = await store.ClaimAsync(storeKey, fingerprint, cancellationToken);
            if (claim.Fingerprint != fingerprint)
            {
                Log.KeyReused(logger, http.Request.Path.Value ?? "/");
                return shape(new OpenAiErrorResult(StatusCodes.Status422UnprocessableEntity,
                    $"This {KeyHeader} was already used with a different request (another body or route). Use a new key for a new request.",
                    "invalid_request_error", KeyHeader, "idempotency_key_reused"));
            }

            if (claim.Token is { } token)
            {
                return await RunAsync(context, next, storeKey, token, fingerprint, streamed, follow: null);
            }

            // the request may have run, but the client was never given its answer (its Ingress died, or gave up on it):
            // a repeat follows its call and answers with what the workers kept for it (a stream replayed whole)
            if ((claim.LostCallId ?? claim.Answer?.UnknownOutcomeOf) is { Length: > 0 } callId && Guid.TryParse(callId, out var call) &&
                claim.HeldValue is { } held && answers.Available)
            {
                // a call whose deadline was not recorded (an older Ingress sent it) is looked up once, not waited for
                var deadline = (claim.LostCallId is not null ? claim.CallDeadline : claim.Answer!.CallDeadline) ?? time.GetUtcNow();
                var kept = await answers.FindAsync(call, cancellationToken);
                if (kept is not null || time.GetUtcNow() < deadline + AnswerGrace)
                {
                    if (await store.TakeOverAsync(storeKey, held, fingerprint, callId, deadline) is { } taken)
                    {
                        Log.Following(logger, http.Request.Path.Value ?? "/", callId, kept is not null);
                        return await RunAsync(context, next, storeKey, taken, fingerprint, streamed,
                            new Follow(call, deadline, kept, Lost: claim.LostCallId is not null));
                    }

                    // another repeat took it over meanwhile: wait for it like for any request in flight
                    await store.WaitForChangeAsync(storeKey, cancellationToken);
                    continue;
                }
            }

            if (claim.LostCallId is { } lostId)
            {
                Log.HolderLostRefused(logger, http.Request.Path.Value ?? "/", lostId);
                return new HeaderResult(shape(HolderLostConflict(lostId)), lostId);
            }

            if (claim.Answer is { } answer)
            {
                if (answer.UnknownOutcomeOf is { } firstId)
                {
                    Log.OutcomeUnknownRefused(logger, http.Request.Path.Value ?? "/", firstId);
                    return new HeaderResult(shape(OutcomeUnknownConflict(firstId)), firstId);
                }

                Log.Replayed(logger, http.Request.Path.Value ?? "/", answer.StatusCode);
                return answer.TooLarge
                    ? shape(new OpenAiErrorResult(StatusCodes.Status409Conflict,
                        $"The request with this {KeyHeader} finished, but its answer was larger than the replay limit and was not kept. Use a new key to run it again.",
                        "invalid_request_error", KeyHeader, "idempotency_answer_not_kept"))
                    : new ReplayResult(answer);
            }

            // the first request with this key is still running: wait for its answer (or for it to give the key back)
            await store.WaitForChangeAsync(storeKey, cancellationToken);
        }
    }

    private async ValueTask<object?> RunAsync(
        EndpointFilterInvocationContext context, EndpointFilterDelegate next, string storeKey, string token, string fingerprint, bool streamed,
        Follow? follow)
    {
        var http = context.HttpContext;
        var capture = new CapturingStream(http.Response.Body, options.MaxStoredBytes);
        http.Response.Body = capture;
        if (!streamed || follow is not null)
        {
            // a repeat is coming: a client that leaves does not cancel a non-streamed request, whose answer is kept for it
            // (the request still ends at its own timeout); a stream the client leaves is cancelled and gives the key back,
            // except a followed one, whose call ran already: its replay is kept whole for the next repeat
            http.RequestAborted = CancellationToken.None;
        }

        // each call sent for this request is on record with the claim before it goes out (see IdempotencyStore), and the
        // workers keep its answer for the key's TTL, so a repeat still gets it if this Ingress dies or loses it
        var sent = new SentCall { Deadline = follow?.Deadline };
        InferenceSendHook.Set(http, (requestId, deadline) =>
        {
            sent.Deadline = deadline;
            return store.RecordCallAsync(storeKey, token, requestId.ToString(), deadline);
        }, (int)Math.Min(int.MaxValue, Math.Ceiling(options.TtlSeconds)));
        var renewal = new CancellationTokenSource();
        var renewing = RenewAsync(storeKey, token, renewal.Token);
        http.Response.OnCompleted(async () =>
        {
            await renewal.CancelAsync();
            await renewing;
            renewal.Dispose();
            await FinishAsync(http, capture, storeKey, token, fingerprint, sent);
        });
        if (follow is null)
        {
            return await next(context);
        }

        // a repeat following the call of a request whose answer never reached its client: that answer, once kept
        var callId = follow.CallId.ToString();
        var reply = follow.Kept ?? await WaitForKeptAsync(follow, http.RequestAborted);
        if (reply is null)
        {
            Log.FollowedNoAnswer(logger, http.Request.Path.Value ?? "/", callId);
            OutcomeUnknown.Mark(http);
            var shape = ShapeOf(http);
            return new HeaderResult(shape(follow.Lost ? HolderLostConflict(callId) : OutcomeUnknownConflict(callId)), callId);
        }

        // the route renders it as it would have rendered it for the first request (its call id, its status), sending nothing
        InferenceSendHook.Adopt(http, reply);
        http.Response.Headers[ReplayedHeader] = "true";
        return await next(context);
    }

    /// <summary>Polls the kept answers for the followed call until it is there, or its deadline (and a grace) has passed.</summary>
    private async Task<object?> WaitForKeptAsync(Follow follow, CancellationToken cancellationToken)
    {
        var poll = TimeSpan.FromMilliseconds(Math.Max(10, options.PollMilliseconds));
        while (true)
        {
            if (await answers.FindAsync(follow.CallId, cancellationToken) is { } kept)
            {
                return kept;
            }

            if (time.GetUtcNow() >= follow.Deadline + AnswerGrace)
            {
                return null;
            }

            await Task.Delay(poll, time, cancellationToken);
        }
    }

    private async Task FinishAsync(HttpContext http, CapturingStream capture, string storeKey, string token, string fingerprint, SentCall sent)
    {
        var status = http.Response.StatusCode;
        var isStream = http.Response.ContentType?.StartsWith("text/event-stream", StringComparison.OrdinalIgnoreCase) == true;
        if (OutcomeUnknown.Answered(http))
        {
            // told "failed", but it may have run or still run and be charged: the key stays taken, so a repeat never runs it twice
            var callId = http.Response.Headers[CallIdHeader].ToString();
            Log.KeptOutcomeUnknown(logger, http.Request.Path.Value ?? "/", status, callId);
            // a call this Ingress stopped (a stream broken off by a redelivery) answers no more: a repeat looks for what
            // was kept before the stop, within the grace, instead of waiting to the call's own deadline
            var deadline = OutcomeUnknown.Stopped(http) ? time.GetUtcNow() : sent.Deadline;
            await store.CompleteAsync(storeKey, token, fingerprint,
                new IdempotentAnswer(status, new Dictionary<string, string>(), [], UnknownOutcomeOf: callId, CallDeadline: deadline));
            return;
        }

        var retryable = status >= 500 || status is StatusCodes.Status408RequestTimeout or StatusCodes.Status429TooManyRequests ||
                        (isStream && !SseStreamResult.EndedCleanly(http));
        if (retryable)
        {
            Log.Released(logger, http.Request.Path.Value ?? "/", status);
            await store.ReleaseAsync(storeKey, token);
            return;
        }

        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var (name, value) in http.Response.Headers)
        {
            if (!ConnectionHeaders.Contains(name))
            {
                headers[name] = value.ToString();
            }
        }

        await store.CompleteAsync(storeKey, token, fingerprint,
            new IdempotentAnswer(status, headers, capture.Overflowed ? [] : capture.Captured(), capture.Overflowed));
    }

    /// <summary>Renews the claim every third of its lifetime until the request is done.</summary>
    private async Task RenewAsync(string storeKey, string token, CancellationToken cancellationToken)
    {
        var every = TimeSpan.FromSeconds(Math.Max(1, options.ClaimSeconds) / 3);
        try
        {
            while (true)
            {
                await Task.Delay(every, time, cancellationToken);
                await store.RenewAsync(storeKey, token);
            }
        }
        catch (OperationCanceledException)
        {
            // the request is done
        }
    }

    private static string? KeyOf(HttpRequest request)
    {
        foreach (var name in new[] { KeyHeader, AlternateKeyHeader })
        {
            if (request.Headers.TryGetValue(name, out var value))
            {
                return value.ToString().Trim();
            }
        }

        return null;
    }

    /// <summary>Whose key it is: the virtual key (by hash), a JWT's user and team, or the admin (master key, admin JWT, open gateway).</summary>
    private static string ScopeOf(HttpContext http) => AuthContext.Of(http) switch
    {
        null or { IsAdmin: true } => "admin",
        { Key: { } key } => "key:" + key.TokenHash,
        var caller => "jwt:" + caller.Caller?.UserId + "|" + caller.Caller?.TeamId,
    };

    /// <summary>The route's error shape (OpenAI's, or Anthropic's on /v1/messages).</summary>
    private static Func<OpenAiErrorResult, IResult> ShapeOf(HttpContext http) =>
        http.GetEndpoint()?.Metadata.GetMetadata<IdempotentRoute>()?.ErrorShape ?? (static e => e);

    /// <summary><c>/v1/chat/completions</c> and <c>/chat/completions</c> are one route.</summary>
    private static string RoutePath(PathString path) =>
        path.StartsWithSegments("/v1", out var rest) ? rest.Value ?? "/" : path.Value ?? "/";

    private static string Hash(string text) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)));

    /// <summary>The 409 for a repeat of a request whose outcome is unknown (<paramref name="firstId"/> its call id, or empty).</summary>
    private static OpenAiErrorResult OutcomeUnknownConflict(string firstId)
    {
        var lookUp = firstId.Length > 0 ? $"GET /request/{firstId}" : "GET /request/{x-litellm-call-id of the first answer}";
        return new OpenAiErrorResult(StatusCodes.Status409Conflict,
            $"The request with this {KeyHeader} was answered with an error although it may have run, may still run and may be charged " +
            $"(a timeout, an answer lost with the queue connection, or a stream that broke off), so it is not run again. Look it up with {lookUp}; " +
            "use a new key to run it again.",
            "invalid_request_error", KeyHeader, "idempotency_outcome_unknown");
    }

    /// <summary>
    /// The 409 for a repeat of a request whose Ingress died while it ran (its lease expired): it may have run and been
    /// charged, and its answer can no longer arrive (<paramref name="firstId"/> its call id, or empty).
    /// </summary>
    private static OpenAiErrorResult HolderLostConflict(string firstId)
    {
        var lookUp = firstId.Length > 0 ? $"GET /request/{firstId}" : "GET /request/{x-litellm-call-id}";
        return new OpenAiErrorResult(StatusCodes.Status409Conflict,
            $"The request with this {KeyHeader} was still running on a Broker instance that stopped or lost its connection to Redis (its lease " +
            $"expired), so it may have run and may be charged, and its answer is lost. It is not run again. Look it up with {lookUp}; " +
            "use a new key to run it again.",
            "invalid_request_error", KeyHeader, "idempotency_outcome_unknown");
    }

    /// <summary>
    /// A repeat following the call of a request whose answer never reached its client: the call, until when it may still
    /// answer, its answer when already kept, and whether its Ingress died (<see cref="Lost"/>) or gave up on it.
    /// </summary>
    private sealed record Follow(Guid CallId, DateTimeOffset Deadline, object? Kept, bool Lost);

    /// <summary>The deadline of the last call this request sent (or followed): kept with an outcome-unknown answer.</summary>
    private sealed class SentCall
    {
        public DateTimeOffset? Deadline { get; set; }
    }

    /// <summary>An answer with the first request's <c>x-litellm-call-id</c> added.</summary>
    private sealed class HeaderResult(IResult inner, string callId) : IResult
    {
        public Task ExecuteAsync(HttpContext httpContext)
        {
            if (callId.Length > 0)
            {
                httpContext.Response.Headers[CallIdHeader] = callId;
            }

            return inner.ExecuteAsync(httpContext);
        }
    }

    /// <summary>The stored answer, as the first request's client received it, marked as replayed.</summary>
    private sealed class ReplayResult(IdempotentAnswer answer) : IResult
    {
        public async Task ExecuteAsync(HttpContext httpContext)
        {
            httpContext.Response.StatusCode = answer.StatusCode;
            foreach (var (name, value) in answer.Headers)
            {
                httpContext.Response.Headers[name] = value;
            }

            httpContext.Response.Headers[ReplayedHeader] = "true";
            await httpContext.Response.Body.WriteAsync(answer.Body, httpContext.RequestAborted);
        }
    }
}
