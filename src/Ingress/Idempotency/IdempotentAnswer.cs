namespace Broker.Ingress.Idempotency;

/// <summary>
/// What a request with an <c>Idempotency-Key</c> answered, kept for its repeats: status, response headers and body as
/// the client received them (a stream's server-sent events included). <see cref="TooLarge"/>: the answer was not kept.
/// </summary>
public sealed record IdempotentAnswer(int StatusCode, IReadOnlyDictionary<string, string> Headers, byte[] Body, bool TooLarge = false);
