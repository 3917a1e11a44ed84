namespace Broker.Ingress.Idempotency;

/// <summary>
/// The state of a key when a request asks for it: <see cref="Token"/> set = this request holds the key and runs;
/// else another request holds it (<see cref="Answer"/> null: still running) or finished (<see cref="Answer"/>).
/// <see cref="Fingerprint"/> is the holder's request fingerprint.
/// </summary>
public sealed record IdempotencyClaim(string? Token, string Fingerprint, IdempotentAnswer? Answer);
