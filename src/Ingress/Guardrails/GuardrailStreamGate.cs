using System.Text;
using System.Text.Json.Nodes;
using Broker.Ingress.Errors;
using Broker.Ingress.Streaming;

namespace Broker.Ingress.Guardrails;

/// <summary>
/// A streamed answer under guardrails. The first frame waits for the during_call guardrails. The request's placeholders
/// are put back chunk by chunk (a chunk whose text may end inside a placeholder is held until the next one). post_call
/// guardrails run on the assembled text before the last event: when one may rewrite the text, every chunk is held until
/// then (the client only ever sees checked text); otherwise chunks flow and a refusal replaces the last event.
/// </summary>
internal sealed class GuardrailStreamGate(GuardrailRun run, GuardrailShape shape) : IStreamGate
{
    private readonly StringBuilder _assembled = new();
    private readonly StringBuilder _pending = new();
    private readonly List<(JsonObject Chunk, TextSlots? Slots)> _held = [];
    private readonly bool _holdAll = run.RewritesAnswer;

    public Task<OpenAiErrorResult?> BeforeFirstFrameAsync(CancellationToken cancellationToken) => run.WaitDuringAsync();

    public IReadOnlyList<JsonObject> Chunk(JsonObject chunk)
    {
        ArgumentNullException.ThrowIfNull(chunk);
        var slots = TextSlots.OfChunk(chunk, shape);
        var text = slots?.Texts()[0];
        if (text is not null)
        {
            _assembled.Append(text);
        }

        if (_holdAll)
        {
            _held.Add((chunk, slots));
            return [];
        }

        if (!run.Session.HasPlaceholders)
        {
            return [chunk];
        }

        _held.Add((chunk, slots));
        if (text is not null)
        {
            _pending.Append(text);
            if (run.Session.PossiblePlaceholderTail(_pending.ToString()) > 0)
            {
                return [];
            }
        }

        return Release(run.Session.Unmask(_pending.ToString()));
    }

    public async Task<(OpenAiErrorResult? Error, IReadOnlyList<JsonObject> Held)> BeforeEndAsync(CancellationToken cancellationToken)
    {
        var answer = run.Session.Unmask(_assembled.ToString());
        if (run.ChecksAnswer)
        {
            var final = answer;
            if (await run.PostCallAsync([answer], texts => final = texts[0], cancellationToken) is { } refused)
            {
                return (refused, []);
            }

            if (_holdAll)
            {
                return (null, Release(final));
            }
        }

        return (null, Release(_holdAll ? answer : run.Session.Unmask(_pending.ToString())));
    }

    public void Ended(Guid requestId) => run.Finish(requestId);

    /// <summary>The held chunks, the first text-bearing one carrying <paramref name="text"/> and the others no text.</summary>
    private List<JsonObject> Release(string text)
    {
        var first = true;
        foreach (var (_, slots) in _held)
        {
            if (slots is null)
            {
                continue;
            }

            slots.Write([first ? text : ""]);
            first = false;
        }

        var released = _held.Select(h => h.Chunk).ToList();
        _held.Clear();
        _pending.Clear();
        return released;
    }
}
