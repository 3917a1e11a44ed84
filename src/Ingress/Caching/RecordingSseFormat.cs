using System.Text.Json.Nodes;
using Broker.Ingress.Errors;
using Broker.Ingress.Streaming;

namespace Broker.Ingress.Caching;

/// <summary>
/// Passes a stream's chunks on to the route's own format and assembles the completion on the side; when the
/// stream ends normally (not on an error, not when the client left) the whole answer is stored.
/// </summary>
public sealed class RecordingSseFormat(ISseFormat inner, ResponseCache cache, CachePlan plan) : ISseFormat
{
    private readonly CompletionAssembler _assembler = new();
    private bool _failed;

    public IEnumerable<string> Start() => inner.Start();

    public IEnumerable<string> Chunk(JsonObject chunk)
    {
        ArgumentNullException.ThrowIfNull(chunk);
        // before the inner format, which may trim the chunk (e.g. drop usage)
        _assembler.Add(chunk);
        return inner.Chunk(chunk);
    }

    public IEnumerable<string> Error(OpenAiErrorResult error)
    {
        _failed = true;
        return inner.Error(error);
    }

    public IEnumerable<string> End()
    {
        if (!_failed && _assembler.IsComplete)
        {
            cache.Save(plan, _assembler.Build().ToJsonString());
        }

        return inner.End();
    }
}
