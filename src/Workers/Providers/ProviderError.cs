using Broker.Contracts.Inference;

namespace Broker.Workers.Providers;

/// <summary>A classified provider failure, in the terms the client will see.</summary>
public sealed record ProviderError(
    ProviderErrorClass Class,
    int StatusCode,
    string Message,
    string? Code = null,
    double? RetryAfterSeconds = null)
{
    /// <summary>OpenAI error <c>type</c> for this class.</summary>
    public string Type => Class switch
    {
        ProviderErrorClass.Authentication => "authentication_error",
        ProviderErrorClass.RateLimit => "rate_limit_error",
        ProviderErrorClass.Timeout => "timeout",
        ProviderErrorClass.NotFound => "not_found_error",
        ProviderErrorClass.InternalServerError => "api_error",
        _ => "invalid_request_error",
    };
}
