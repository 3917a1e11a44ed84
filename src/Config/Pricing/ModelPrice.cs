namespace Broker.Config.Pricing;

/// <summary>USD per token of one model: prompt, completion, and prompt tokens read from the provider's prompt cache.</summary>
public sealed record ModelPrice(decimal InputPerToken, decimal OutputPerToken, decimal? CachedInputPerToken = null);
