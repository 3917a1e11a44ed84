using System.Text.Json.Nodes;
using Broker.Ingress.Errors;

namespace Broker.Ingress.Inference;

/// <summary>A non-streamed chat completion: the OpenAI completion with Broker's response headers, or an error.</summary>
public sealed record ChatCompletionOutcome(JsonObject? Completion, OpenAiErrorResult? Error, IReadOnlyDictionary<string, string> Headers);
