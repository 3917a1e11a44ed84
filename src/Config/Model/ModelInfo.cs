namespace Broker.Config.Model;

/// <summary>model_info: id, prices and limits of a deployment.</summary>
public sealed record ModelInfo
{
    public static ModelInfo Empty { get; } = new();

    public string? Id { get; init; }

    public string? Mode { get; init; }

    /// <summary>Whether health checks probe the deployment: chat and completion (a one-token chat) and embedding modes.</summary>
    public bool IsHealthChecked => Mode is null or "chat" or "completion" or "embedding";

    /// <summary>Whether health checks probe it with an embedding rather than a chat completion.</summary>
    public bool IsEmbedding => Mode == "embedding";

    public string? BaseModel { get; init; }

    public decimal? InputCostPerToken { get; init; }

    public decimal? OutputCostPerToken { get; init; }

    /// <summary>input_cost_per_query: USD per rerank query (per Cohere search unit).</summary>
    public decimal? InputCostPerQuery { get; init; }

    public int? MaxInputTokens { get; init; }

    public int? MaxOutputTokens { get; init; }

    public int? MaxTokens { get; init; }

    /// <summary>access_groups: names a key's <c>models</c> can list to reach every model of the group.</summary>
    public IReadOnlyList<string> AccessGroups { get; init; } = [];

    /// <summary>Other model_info keys, kept as loaded.</summary>
    public IReadOnlyDictionary<string, object?> Extra { get; init; } = new Dictionary<string, object?>();
}
