using System.Text.Json.Nodes;
using Broker.Ingress.Errors;

namespace Broker.Ingress.Inference;

/// <summary>What a streamed request yields to the writer of its wire format (OpenAI, Anthropic, Responses SSE).</summary>
public abstract record StreamEvent;

/// <summary>One OpenAI <c>chat.completion.chunk</c>. The usage chunk (empty <c>choices</c>, <c>usage</c> set) comes last.</summary>
public sealed record StreamChunk(JsonObject Chunk) : StreamEvent;

/// <summary>Nothing arrived for a while: writers send an SSE comment so proxies keep the connection.</summary>
public sealed record StreamKeepAlive : StreamEvent;

/// <summary>The stream failed; terminal. Before the first chunk the writer can still answer with an HTTP error.</summary>
public sealed record StreamFailed(OpenAiErrorResult Error) : StreamEvent;
