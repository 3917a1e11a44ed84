namespace Broker.Ingress.Caching;

/// <summary>One cached answer: the JSON body as first returned (an OpenAI chat completion or embedding list) and when it was stored.</summary>
public sealed record CacheEntry(string Body, DateTimeOffset StoredAt);
