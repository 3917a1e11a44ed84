using System.Collections.Concurrent;
using Broker.Config;
using Broker.Config.Model;
using Broker.Contracts.Inference;
using MassTransit;

namespace Broker.Ingress.Inference;

/// <summary>Sends commands to a model group's queue and waits for the worker's reply, within the configured timeout.</summary>
public sealed class InferenceClient(IClientFactory clientFactory, IProxyConfigProvider config, TimeProvider timeProvider)
{
    /// <summary>LiteLLM's default request timeout (600 s) when neither router_settings.timeout nor request_timeout is set.</summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(600);

    private readonly ConcurrentDictionary<string, IRequestClient<CreateChatCompletion>> _clients = new(StringComparer.Ordinal);

    public TimeSpan Timeout => config.Current.RouterSettings.Timeout ?? DefaultTimeout;

    public Task<Response<ChatCompletionSucceeded, ChatCompletionFailed>> CreateChatCompletionAsync(
        ModelGroup group, string requestedModel, string body, string? deploymentId, TimeSpan timeout, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(group);
        var client = _clients.GetOrAdd(group.QueueName, queue =>
            clientFactory.CreateRequestClient<CreateChatCompletion>(new Uri($"queue:{queue}"), RequestTimeout.After(m: 10)));
        var command = new CreateChatCompletion
        {
            RequestId = NewId.NextGuid(),
            ModelGroup = group.Name,
            RequestedModel = requestedModel,
            Body = body,
            Deadline = timeProvider.GetUtcNow() + timeout,
            DeploymentId = deploymentId,
        };
        return client.GetResponse<ChatCompletionSucceeded, ChatCompletionFailed>(
            command,
            x => x.UseExecute(context => context.TimeToLive = timeout),
            cancellationToken,
            RequestTimeout.After(ms: (int)Math.Min(int.MaxValue, timeout.TotalMilliseconds)));
    }
}
