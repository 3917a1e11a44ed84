using Broker.Config;
using Broker.Contracts.Inference;
using Broker.ServiceDefaults.Redis;
using Broker.Workers.Pricing;
using Broker.Workers.Providers;
using Broker.Workers.Routing;
using MassTransit;
using Microsoft.Extensions.Logging;

namespace Broker.Workers.Inference;

/// <summary>
/// Consumes rerank requests from a model group's queue (the same queue, limits and routing as its chat and embedding
/// requests): the provider's ranking comes back in Cohere's shape, priced per query (input_cost_per_query) or per token.
/// </summary>
public sealed class CreateRerankConsumer(
    IProxyConfigProvider config,
    DeploymentRouter router,
    ProviderResolver providers,
    TimeProvider timeProvider,
    KeptAnswers answers,
    AttemptReporting reporting,
    ILogger<CreateRerankConsumer> logger) : IConsumer<CreateRerank>
{
    public async Task Consume(ConsumeContext<CreateRerank> context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var message = context.Message;
        var queue = InferenceSteps.QueueOf(context);
        if (message.Deadline - timeProvider.GetUtcNow() <= TimeSpan.Zero)
        {
            Log.Expired(logger, message.RequestId, message.ModelGroup);
            return;
        }

        var (prepared, invalid, deploymentId) = await InferenceSteps.PrepareAsync(
            config.Current, router, message.ModelGroup, null, message.RequestId, message.Deadline, message.Body, context.CancellationToken,
            callerTags: message.Caller?.Tags);
        if (invalid is not null)
        {
            await InferenceSteps.RespondFailed(context, message.RequestId, queue, deploymentId, invalid, answers, context.Message.KeepAnswerSeconds);
            return;
        }

        await InferenceSteps.CallLeasedAsync(router, context, prepared!, outcome => CallAsync(context, queue, prepared!, outcome));
    }

    private async Task CallAsync(ConsumeContext<CreateRerank> context, string queue, PreparedRequest prepared, CallOutcome outcome)
    {
        var message = context.Message;
        var (group, deployment, body, _) = prepared;
        var providerModel = ChatRequestBuilder.ProviderModel(group, deployment, message.RequestedModel);
        var request = RerankShapes.Request(body, providerModel);
        var provider = providers.ResolveRerank(deployment, body.ContainsKey("mock_response"));
        if (provider is null)
        {
            await InferenceSteps.RespondFailed(context, message.RequestId, queue, deployment.Id, InferenceSteps.Unsupported(deployment, "rerank"), answers, context.Message.KeepAnswerSeconds);
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
            result = await provider.RerankAsync(new ProviderCall(deployment, providerModel, request, message.RequestedModel), linked.Token);
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested && !context.CancellationToken.IsCancellationRequested)
        {
            Log.Expired(logger, message.RequestId, message.ModelGroup);
            return;
        }

        var latencyMs = timeProvider.GetElapsedTime(started).TotalMilliseconds;
        outcome.Finish(result.Usage, latencyMs, result.Error);
        var usage = new TokenUsage { PromptTokens = result.Usage.PromptTokens, CompletionTokens = 0 };
        var cost = CostCalculator.RerankCost(deployment, usage, result.Completion is { } ranked ? RerankShapes.SearchUnits(ranked) : 1,
            failed: result.Error is not null);
        if (result.Error is { } error)
        {
            Log.Failed(logger, message.RequestId, group.Name, deployment.Id, deployment.Provider, error.Class.ToString(), error.StatusCode, error.Message);
            await InferenceSteps.RespondFailed(context, message.RequestId, queue, deployment.Id, error, answers, context.Message.KeepAnswerSeconds);
        }
        else
        {
            await InferenceSteps.Reply(context, message.RequestId, new RerankSucceeded
            {
                RequestId = message.RequestId,
                Body = result.Completion!.ToJsonString(),
                ModelGroup = group.Name,
                DeploymentId = deployment.Id,
                Provider = deployment.Provider,
                Queue = queue,
                Usage = usage,
                Cost = cost,
            }, answers, message.KeepAnswerSeconds);
        }

        var attempt = await AttemptReport.ForUsageAsync(context, reporting, AttemptReport.Create(message.RequestId, null, group.Name, deployment.Id,
            result.Error, latencyMs, healthCheck: false, message.Caller, timeProvider.GetUtcNow()));
        await InferenceSteps.PublishUsage(context, message.RequestId, group.Name, deployment.Id, deployment.Provider,
            usage, latencyMs, null, result.Error, timeProvider.GetUtcNow(), message.Caller, cost,
            config.Current.GeneralSettings.StorePromptsInSpendLogs ? (request["query"]?.ToJsonString(), result.Completion?.ToJsonString()) : default,
            attempt: attempt);
    }
}
