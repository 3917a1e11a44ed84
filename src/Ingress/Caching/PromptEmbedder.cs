using System.Text.Json.Nodes;
using Broker.Config;
using Broker.Ingress.Inference;

namespace Broker.Ingress.Caching;

/// <summary>
/// Embeds prompts for a semantic cache with the model group named in cache_params
/// (<c>redis_semantic_cache_embedding_model</c>), through that group's queue like any embedding request.
/// </summary>
public sealed class PromptEmbedder(InferenceClient inference, IProxyConfigProvider config, string modelGroup)
{
    public string ModelGroup => modelGroup;

    /// <summary>The prompt's embedding scaled to unit length; throws when the model does not answer with one.</summary>
    public async Task<float[]> EmbedAsync(string prompt, CancellationToken cancellationToken)
    {
        var group = config.Current.ModelGroups.FirstOrDefault(g => g.Name == modelGroup)
            ?? throw new InvalidOperationException($"the semantic cache's embedding model '{modelGroup}' is not in model_list");
        var request = new JsonObject { ["model"] = modelGroup, ["input"] = prompt, ["encoding_format"] = "float" };
        var outcome = await inference.EmbedAsync(group, modelGroup, request, cancellationToken);
        if (outcome.Error is { } error)
        {
            throw new InvalidOperationException("the embedding model failed: " + error.Error.Error.Message);
        }

        var embedding = JsonNode.Parse(outcome.Body!)?["data"]?[0]?["embedding"] as JsonArray
            ?? throw new InvalidOperationException("the embedding model answered without data[0].embedding");
        var vector = embedding.Select(v => v!.GetValue<float>()).ToArray();
        return Normalize(vector);
    }

    /// <summary>Scales a vector to unit length (so cosine similarity is a dot product).</summary>
    public static float[] Normalize(float[] vector)
    {
        ArgumentNullException.ThrowIfNull(vector);
        var norm = Math.Sqrt(vector.Sum(v => (double)v * v));
        if (norm == 0)
        {
            return vector;
        }

        return vector.Select(v => (float)(v / norm)).ToArray();
    }
}
