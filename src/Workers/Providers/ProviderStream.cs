using System.Text.Json.Nodes;

namespace Broker.Workers.Providers;

/// <summary>
/// A started streamed call: either an error before anything was streamed, or OpenAI <c>chat.completion.chunk</c>
/// objects as the provider emits them. A failure mid-stream throws <see cref="ProviderStreamException"/>.
/// </summary>
public sealed record ProviderStream(IAsyncEnumerable<JsonObject>? Chunks, ProviderError? Error)
{
    public static ProviderStream Failed(ProviderError error) => new(null, error);

    public static ProviderStream Of(IAsyncEnumerable<JsonObject> chunks) => new(chunks, null);
}
