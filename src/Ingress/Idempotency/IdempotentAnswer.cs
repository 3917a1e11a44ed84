namespace Broker.Ingress.Idempotency;

/// <summary>
/// What a request with an <c>Idempotency-Key</c> answered, kept for its repeats: status, response headers and body as
/// the client received them (a stream's server-sent events included). <see cref="TooLarge"/>: the answer was not kept.
/// <see cref="UnknownOutcomeOf"/> set: the first request was answered with a failure although it may have run (its
/// <c>x-litellm-call-id</c>, or empty when it had none); a repeat is refused rather than run again.
/// </summary>
public sealed record IdempotentAnswer(
    int StatusCode, IReadOnlyDictionary<string, string> Headers, byte[] Body, bool TooLarge = false, string? UnknownOutcomeOf = null);
