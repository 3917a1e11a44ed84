namespace Broker.Ingress.Guardrails;

/// <summary>The JSON shape guardrails read text from and write it back to.</summary>
public enum GuardrailShape
{
    /// <summary>OpenAI chat completions: request messages, answer choices, stream chunks with choices[].delta.</summary>
    OpenAiChat,

    /// <summary>Anthropic Messages: request system + messages, answer content blocks, stream events with text deltas.</summary>
    Anthropic,

    /// <summary>OpenAI embeddings: the request's <c>input</c> (a string or strings); the answer carries no text (no post_call).</summary>
    Embeddings,
}
