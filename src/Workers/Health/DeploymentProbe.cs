using System.Text.Json.Nodes;
using Broker.Config.Model;
using Broker.Workers.Inference;
using Broker.Workers.Providers;

namespace Broker.Workers.Health;

/// <summary>
/// One cheap real call to one deployment, straight to its provider (not through the queue, no routing slot):
/// a one-token chat completion, or a one-input embedding for <c>model_info.mode: embedding</c>.
/// </summary>
public sealed class DeploymentProbe(ProviderResolver providers)
{
    /// <summary>Longest wait for one probe (LiteLLM's health check timeout).</summary>
    public static readonly TimeSpan MaxTimeout = TimeSpan.FromSeconds(60);

    /// <summary>Whether the deployment can be probed: chat and embedding deployments; other modes (images, audio...) are not.</summary>
    public static bool IsProbed(ModelDeployment deployment)
    {
        ArgumentNullException.ThrowIfNull(deployment);
        return deployment.ModelInfo.IsHealthChecked;
    }

    /// <summary>Null when the deployment answered, else why not.</summary>
    public async Task<string?> CheckAsync(ModelGroup group, ModelDeployment deployment, TimeSpan timeout, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(group);
        ArgumentNullException.ThrowIfNull(deployment);
        var embedding = deployment.ModelInfo.IsEmbedding;
        var providerModel = ChatRequestBuilder.ProviderModel(group, deployment, group.Name);
        var body = embedding
            ? new JsonObject { ["model"] = group.Name, ["input"] = new JsonArray("ping") }
            : new JsonObject
            {
                ["model"] = group.Name,
                ["messages"] = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = "ping" }),
                ["max_tokens"] = 1,
            };
        var request = ChatRequestBuilder.Build(body, deployment, providerModel);
        var call = new ProviderCall(deployment, providerModel, request, group.Name);
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        try
        {
            var provider = providers.Find(deployment, request.ContainsKey("mock_response"));
            if (provider is null)
            {
                return InferenceSteps.Unsupported(deployment, embedding ? "embeddings" : "chat completions").Message;
            }

            var result = await provider.ProbeAsync(call, embedding, deadline.Token);
            return result.Error is { } error ? $"{error.StatusCode} {error.Class}: {error.Message}" : null;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return $"no answer within {timeout.TotalSeconds:0.#} s";
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // whatever the provider call throws, the deployment did not answer: that is the result
            return ex.GetType().Name + ": " + ex.Message;
        }
    }
}
