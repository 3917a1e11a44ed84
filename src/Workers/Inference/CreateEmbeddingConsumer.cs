using Broker.Config;
using Broker.Contracts.Inference;
using Broker.ServiceDefaults.Redis;
using Broker.Workers.Pricing;
using Broker.Workers.Providers;
using Broker.Workers.Routing;
using MassTransit;
using Microsoft.Extensions.Logging;

namespace Broker.Workers.Inference;

/// <summary>Consumes embedding requests from a model group's queue (the same queue and limit as its chat requests).</summary>
public sealed class CreateEmbeddingConsumer(
    IProxyConfigProvider config,
    DeploymentRouter router,
    ProviderResolver providers,
    TimeProvider timeProvider,
    KeptAnswers answers,
    AttemptReporting reporting,
    ILogger<CreateEmbeddingConsumer> logger) : IConsumer<CreateEmbedding>
{
    public async Task Consume(ConsumeContext<CreateEmbedding> context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var message = context.Message;
        var queue = InferenceSteps.QueueOf(context);
        var remaining = message.Deadline - timeProvider.GetUtcNow();
        if (remaining <= TimeSpan.Zero)
        {
            Log.Expired(logger, message.RequestId, message.ModelGroup);
            return;
        }

        var (prepared, invalid, deploymentId) = await InferenceSteps.PrepareAsync(
            config.Current, router, message.ModelGroup, message.DeploymentId, message.RequestId, message.Deadline, message.Body, context.CancellationToken,
            callerTags: message.Caller?.Tags);
        if (invalid is not null)
        {
            await InferenceSteps.RespondFailed(context, message.RequestId, queue, deploymentId, invalid, answers, context.Message.KeepAnswerSeconds);
            return;
        }

        await InferenceSteps.CallLeasedAsync(router, context, prepared!, outcome => CallAsync(context, queue, prepared!, outcome));
    }

    private async Task CallAsync(ConsumeContext<CreateEmbedding> context, string queue, PreparedRequest prepared, CallOutcome outcome)
    {
        var message = context.Message;
        var (group, deployment, body, _) = prepared;
        var providerModel = ChatRequestBuilder.ProviderModel(group, deployment, message.RequestedModel);
        var request = ChatRequestBuilder.Build(body, deployment, providerModel);
        var requestedFormat = request["encoding_format"]?.GetValue<string>();
        var provider = providers.ResolveEmbeddings(deployment, request.ContainsKey("mock_response"));
        if (provider is null)
        {
            await InferenceSteps.RespondFailed(context, message.RequestId, queue, deployment.Id, InferenceSteps.Unsupported(deployment, "embeddings"), answers, context.Message.KeepAnswerSeconds);
            return;
        }

        var remaining = message.Deadline - timeProvider.GetUtcNow();
        if (remaining <= TimeSpan.Zero)
        {
            Log.Expired(logger, message.RequestId, message.ModelGroup);
            return;
        }

        using var deadline = new CancellationTokenSource(remaining, timeProvider);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken, deadline.Token);
        var started = timeProvider.GetTimestamp();
        ProviderResult result;
        try
        {
            result = await provider.EmbedAsync(new ProviderCall(deployment, providerModel, request, message.RequestedModel), linked.Token);
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested && !context.CancellationToken.IsCancellationRequested)
        {
            Log.Expired(logger, message.RequestId, message.ModelGroup);
            return;
        }

        var latencyMs = timeProvider.GetElapsedTime(started).TotalMilliseconds;
        outcome.Finish(result.Usage, latencyMs, result.Error);
        // an embedding has no completion tokens, whatever the provider's usage says
        var usage = new TokenUsage { PromptTokens = result.Usage.PromptTokens, CompletionTokens = 0 };
        var cost = CostCalculator.Cost(deployment, usage, failed: result.Error is not null);
        if (result.Error is { } error)
        {
            Log.Failed(logger, message.RequestId, group.Name, deployment.Id, deployment.Provider, error.Class.ToString(), error.StatusCode, error.Message);
            await InferenceSteps.RespondFailed(context, message.RequestId, queue, deployment.Id, error, answers, context.Message.KeepAnswerSeconds);
        }
        else
        {
            EmbeddingEncoding.Apply(result.Completion!, requestedFormat);
            await InferenceSteps.Reply(context, message.RequestId, new EmbeddingSucceeded
            {
                RequestId = message.RequestId,
                Body = result.Completion!.ToJsonString(),
                ModelGroup = group.Name,
                DeploymentId = deployment.Id,
                Provider = deployment.Provider,
                Queue = queue,
                Usage = result.Usage,
                Cost = cost,
            }, answers, message.KeepAnswerSeconds);
        }

        if (message.HealthCheck)
        {
            return;
        }

        var attempt = await AttemptReport.ForUsageAsync(context, reporting, AttemptReport.Create(message.RequestId, null, group.Name, deployment.Id,
            result.Error, latencyMs, healthCheck: false, message.Caller, timeProvider.GetUtcNow()));
        await InferenceSteps.PublishUsage(context, message.RequestId, group.Name, deployment.Id, deployment.Provider,
            usage, latencyMs, null, result.Error, timeProvider.GetUtcNow(), message.Caller, cost,
            // the input only: vectors are not worth a spend log row
            config.Current.GeneralSettings.StorePromptsInSpendLogs ? (request["input"]?.ToJsonString(), null) : default, "embeddings", guardrails: message.Guardrails, attempt: attempt);
    }
}
