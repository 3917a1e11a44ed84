namespace Broker.Ingress.Idempotency;

/// <summary>
/// What a request with an <c>Idempotency-Key</c> answered, kept for its repeats: status, response headers and body as
/// the client received them (a stream's server-sent events included). <see cref="TooLarge"/>: the answer was not kept.
/// <see cref="UnknownOutcomeOf"/> set: the first request was answered with a failure although it may have run (its
/// <c>x-litellm-call-id</c>, or empty when it had none); a repeat is never run again: it gets that call's answer as the
/// workers kept it, waiting for it until <see cref="CallDeadline"/> (when the call could still answer), else a 409.
/// </summary>
public sealed record IdempotentAnswer(
    int StatusCode, IReadOnlyDictionary<string, string> Headers, byte[] Body, bool TooLarge = false, string? UnknownOutcomeOf = null,
    DateTimeOffset? CallDeadline = null);
