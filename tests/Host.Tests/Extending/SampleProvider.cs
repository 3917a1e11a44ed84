using System.Runtime.CompilerServices;
using System.Text.Json.Nodes;
using Broker.Config.Providers;
using Broker.Contracts.Inference;
using Broker.Workers.Providers;

namespace Broker.Host.Tests.Extending;

/// <summary>
/// The README recipe "add a provider", followed: a provider folder holds its descriptor and one class implementing
/// <see cref="IProvider"/>; <see cref="ProviderRegistry.Add{TProvider}"/> is its one registration line. This one answers
/// locally, telling what it received: the model, the key the loader found for it, and the request's parameter names.
/// </summary>
public sealed class SampleProvider(TimeProvider timeProvider) : IProvider
{
    public static ProviderDescriptor Descriptor { get; } = new()
    {
        Name = "sample",
        Aliases = ["sample_ai"],
        ApiKeyVariables = ["SAMPLE_API_KEY"],
        DefaultApiBase = "https://api.sample.invalid/v1",
        SupportedParams = OpenAiParams.Set("max_tokens", "temperature", "stream"),
    };

    public Task<ProviderResult> CompleteAsync(ProviderCall call, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(call);
        var completion = new JsonObject
        {
            ["id"] = "chatcmpl-sample",
            ["object"] = "chat.completion",
            ["created"] = timeProvider.GetUtcNow().ToUnixTimeSeconds(),
            ["model"] = call.ClientModel,
            ["choices"] = new JsonArray(new JsonObject
            {
                ["index"] = 0,
                ["message"] = new JsonObject { ["role"] = "assistant", ["content"] = Describe(call) },
                ["finish_reason"] = "stop",
            }),
            ["usage"] = new JsonObject { ["prompt_tokens"] = 1, ["completion_tokens"] = 1, ["total_tokens"] = 2 },
        };
        return Task.FromResult(ProviderResult.Success(completion, new TokenUsage { PromptTokens = 1, CompletionTokens = 1 }));
    }

    public Task<ProviderStream> StreamAsync(ProviderCall call, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(call);
        return Task.FromResult(ProviderStream.Of(ChunksAsync(call, cancellationToken)));
    }

    private static string Describe(ProviderCall call) =>
        $"model={call.ProviderModel} key={call.Deployment.ApiKey?.Value ?? "none"} base={call.Deployment.ApiBase ?? Descriptor.DefaultApiBase} " +
        $"params={string.Join(",", call.Request.Select(p => p.Key).Order(StringComparer.Ordinal))}";

    private static async IAsyncEnumerable<JsonObject> ChunksAsync(ProviderCall call, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await Task.Yield();
        cancellationToken.ThrowIfCancellationRequested();
        yield return new JsonObject
        {
            ["id"] = "chatcmpl-sample",
            ["object"] = "chat.completion.chunk",
            ["model"] = call.ClientModel,
            ["choices"] = new JsonArray(new JsonObject
            {
                ["index"] = 0,
                ["delta"] = new JsonObject { ["role"] = "assistant", ["content"] = Describe(call) },
                ["finish_reason"] = "stop",
            }),
        };
    }
}
