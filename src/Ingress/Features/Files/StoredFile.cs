namespace Broker.Ingress.Features.Files;

/// <summary>A stored file's metadata (OpenAI's file object).</summary>
public sealed record StoredFile(string Id, string Owner, string Purpose, string Filename, long Bytes, DateTimeOffset CreatedAt, string Status);
