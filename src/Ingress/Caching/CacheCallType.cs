namespace Broker.Ingress.Caching;

/// <summary>The routes whose answers can be cached; <c>supported_call_types</c> names them as LiteLLM does.</summary>
public enum CacheCallType
{
    /// <summary><c>/v1/chat/completions</c> (completion, acompletion).</summary>
    Chat,

    /// <summary><c>/v1/completions</c> (text_completion, atext_completion).</summary>
    TextCompletion,

    /// <summary><c>/v1/embeddings</c> (embedding, aembedding).</summary>
    Embedding,

    /// <summary><c>/v1/responses</c> (responses, aresponses).</summary>
    Responses,

    /// <summary><c>/v1/messages</c> (anthropic_messages, aanthropic_messages).</summary>
    Messages,
}
