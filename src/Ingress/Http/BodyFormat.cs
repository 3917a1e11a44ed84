namespace Broker.Ingress.Http;

/// <summary>
/// Endpoint metadata about a POST route's body. Without it the body is JSON within
/// general_settings.max_request_size_mb, read once for the key check and the endpoint alike (<see cref="RequestBody"/>).
/// </summary>
public sealed record BodyFormat(bool Json, long? MaxBytes);
