namespace Broker.Ingress.Features.Batches;

/// <summary>The endpoints a batch can run (OpenAI's <c>endpoint</c> values).</summary>
public static class BatchEndpoints
{
    public const string ChatCompletions = "/v1/chat/completions";
    public const string Embeddings = "/v1/embeddings";
    public const string Completions = "/v1/completions";
    public const string Responses = "/v1/responses";

    /// <summary>Anthropic's Message Batches (created through <c>/v1/messages/batches</c> only).</summary>
    public const string Messages = "/v1/messages";

    public static readonly IReadOnlyList<string> All = [ChatCompletions, Embeddings, Completions, Responses];
}
