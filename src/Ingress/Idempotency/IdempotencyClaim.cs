namespace Broker.Ingress.Idempotency;

/// <summary>
/// The state of a key when a request asks for it: <see cref="Token"/> set = this request holds the key and runs;
/// else another request holds it (<see cref="Answer"/> null: still running) or finished (<see cref="Answer"/>).
/// <see cref="Fingerprint"/> is the holder's request fingerprint. <see cref="LostCallId"/> set: the holder's Ingress
/// stopped renewing its lease (it died with the request in flight), so the request may have run and been charged; the
/// value is the call id it sent, or empty when it had sent none that was recorded; <see cref="CallDeadline"/> is that
/// call's deadline when recorded. <see cref="HeldValue"/>: the key's stored value as read (in Redis), which
/// <see cref="IdempotencyStore.TakeOverAsync"/> must still find.
/// </summary>
public sealed record IdempotencyClaim(
    string? Token, string Fingerprint, IdempotentAnswer? Answer, string? LostCallId = null, DateTimeOffset? CallDeadline = null, string? HeldValue = null);
