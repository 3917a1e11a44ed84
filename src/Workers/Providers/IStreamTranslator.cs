using System.Text.Json.Nodes;

namespace Broker.Workers.Providers;

/// <summary>Turns one provider's server-sent events into OpenAI <c>chat.completion.chunk</c> objects, one stream at a time.</summary>
public interface IStreamTranslator
{
    /// <summary>The chunks one event (its SSE event type and JSON data) stands for.</summary>
    IEnumerable<JsonObject> Translate(string eventType, JsonObject data);

    /// <summary>The provider sent its last event: nothing after it is read.</summary>
    bool Ended { get; }

    /// <summary>The stream closed: the chunks still owed, or a <see cref="ProviderStreamException"/> when it broke off.</summary>
    IEnumerable<JsonObject> Finish();
}
