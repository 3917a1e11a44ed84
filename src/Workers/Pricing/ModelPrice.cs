namespace Broker.Workers.Pricing;

/// <summary>
/// USD per token of one model: prompt, completion, prompt tokens read from the provider's prompt cache, and the
/// Batch API's prompt and completion prices (batch lines; the standard prices when unknown).
/// </summary>
public sealed record ModelPrice(
    decimal InputPerToken,
    decimal OutputPerToken,
    decimal? CachedInputPerToken = null,
    decimal? BatchInputPerToken = null,
    decimal? BatchOutputPerToken = null);
