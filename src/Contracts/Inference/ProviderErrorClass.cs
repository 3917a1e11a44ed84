namespace Broker.Contracts.Inference;

/// <summary>
/// Failure classes, named after router_settings.retry_policy's keys, on which retries and fallbacks route.
/// </summary>
public enum ProviderErrorClass
{
    None = 0,
    Authentication,
    RateLimit,
    Timeout,
    ContextWindowExceeded,
    ContentPolicyViolation,
    BadRequest,
    NotFound,
    InternalServerError,
}
