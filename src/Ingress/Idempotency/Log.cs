using Microsoft.Extensions.Logging;

namespace Broker.Ingress.Idempotency;

internal static partial class Log
{
    [LoggerMessage(EventId = 3801, Level = LogLevel.Information, Message = "Idempotency-Key repeat on {Path}: the first request's answer ({StatusCode}) replayed")]
    public static partial void Replayed(ILogger logger, string path, int statusCode);

    [LoggerMessage(EventId = 3802, Level = LogLevel.Information, Message = "Idempotency-Key on {Path} given back after a {StatusCode} (or a broken stream): the next request with it runs")]
    public static partial void Released(ILogger logger, string path, int statusCode);

    [LoggerMessage(EventId = 3803, Level = LogLevel.Warning, Message = "Idempotency-Key reused with a different request on {Path}: refused with 422")]
    public static partial void KeyReused(ILogger logger, string path);

    [LoggerMessage(EventId = 3804, Level = LogLevel.Warning, Message = "Idempotency-Key answer not stored in Redis ({Reason}): its repeats get 409, never a second run")]
    public static partial void NotStored(ILogger logger, string reason);

    [LoggerMessage(EventId = 3805, Level = LogLevel.Warning, Message = "Idempotency-Key answers in memory reached Idempotency:MaxLocalBytes ({MaxBytes}): this answer is not kept (a repeat gets 409); configure Redis or a shorter Idempotency:TtlSeconds")]
    public static partial void LocalFull(ILogger logger, long maxBytes);

    [LoggerMessage(EventId = 3806, Level = LogLevel.Warning, Message = "Idempotency-Key on {Path} kept after a {StatusCode} that may have run (request {RequestId}): a repeat gets 409 idempotency_outcome_unknown, never a second run")]
    public static partial void KeptOutcomeUnknown(ILogger logger, string path, int statusCode, string requestId);

    [LoggerMessage(EventId = 3807, Level = LogLevel.Information, Message = "Idempotency-Key repeat on {Path} refused with 409: the first request ({RequestId}) may have run")]
    public static partial void OutcomeUnknownRefused(ILogger logger, string path, string requestId);

    [LoggerMessage(EventId = 3808, Level = LogLevel.Warning, Message = "Idempotency-Key repeat on {Path} refused with 409: the first request ({RequestId}) was in flight on an Ingress whose lease expired (it died); it may have run")]
    public static partial void HolderLostRefused(ILogger logger, string path, string requestId);

    [LoggerMessage(EventId = 3809, Level = LogLevel.Information, Message = "Idempotency-Key repeat on {Path} follows the first request ({RequestId}), whose answer never reached its client (kept already: {Kept}): it gets that answer, never a second run")]
    public static partial void Following(ILogger logger, string path, string requestId, bool kept);

    [LoggerMessage(EventId = 3810, Level = LogLevel.Warning, Message = "Idempotency-Key repeat on {Path} refused with 409: no answer of the first request ({RequestId}) was kept by its deadline; it may have run")]
    public static partial void FollowedNoAnswer(ILogger logger, string path, string requestId);
}
