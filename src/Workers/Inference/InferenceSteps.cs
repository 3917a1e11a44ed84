using System.Text.Json;
using System.Text.Json.Nodes;
using Broker.Config.Model;
using Broker.Config.Providers;
using Broker.Contracts.Identity;
using Broker.Contracts.Inference;
using Broker.Contracts.Usage;
using Broker.ServiceDefaults.Bus;
using Broker.ServiceDefaults.Observability;
using Broker.ServiceDefaults.Redis;
using Broker.ServiceDefaults.Tokens;
using Broker.Workers.Providers;
using Broker.Workers.RateLimits;
using Broker.Workers.Routing;
using MassTransit;

namespace Broker.Workers.Inference;

/// <summary>The steps every inference consumer takes before calling a provider, and its failure reply.</summary>
public static class InferenceSteps
{
    /// <summary>The queue a message was consumed from (e.g. <c>model-group.gpt-4o</c>).</summary>
    public static string QueueOf(ConsumeContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return context.ReceiveContext.InputAddress.AbsolutePath.Split('/')[^1];
    }

    /// <summary>Finds the group, parses the body, takes a slot on a deployment; or says why not.</summary>
    public static async Task<(PreparedRequest? Request, ProviderError? Error, string? DeploymentId)> PrepareAsync(
        ProxyConfig config, DeploymentRouter router, string groupName, string? pinnedDeploymentId, Guid requestId,
        DateTimeOffset deadline, string body, CancellationToken cancellationToken, IReadOnlyCollection<string>? avoidDeploymentIds = null,
        IReadOnlyList<string>? callerTags = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(router);
        // a group removed (reload, /model/delete) after this command was queued still runs it: its queue drains
        var group = config.GroupForQueuedCommand(groupName);
        if (group is null)
        {
            return (null, new ProviderError(ProviderErrorClass.NotFound, 404,
                $"Model group '{groupName}' is not served by this worker's config", "model_not_found"), null);
        }

        JsonObject parsed;
        try
        {
            parsed = JsonNode.Parse(body) as JsonObject ?? throw new JsonException("not an object");
        }
        catch (JsonException ex)
        {
            return (null, new ProviderError(ProviderErrorClass.BadRequest, 400, "Request body is not a JSON object: " + ex.Message), null);
        }

        if (config.RouterSettings.EnablePreCallChecks && pinnedDeploymentId is null && PreCallCheck(group, parsed, cancellationToken) is var (fitting, tooLong))
        {
            if (tooLong is not null)
            {
                return (null, tooLong, null);
            }

            group = fitting!;
        }

        if (pinnedDeploymentId is null)
        {
            var (tagged, untaggable) = TagRouting.Filter(group, config.RouterSettings, TagRouting.Of(parsed, callerTags));
            if (untaggable is not null)
            {
                return (null, untaggable, null);
            }

            group = tagged!;
        }

        var route = await router.AcquireAsync(group, pinnedDeploymentId, requestId, deadline, cancellationToken, avoidDeploymentIds);
        if (route.Lease is not { } lease)
        {
            return (null, route.Error, null);
        }

        return (new PreparedRequest(group, lease.Deployment, parsed, lease), null, lease.Deployment.Id);
    }

    /// <summary>
    /// router_settings.enable_pre_call_checks: leaves out deployments whose model_info.max_input_tokens the prompt
    /// exceeds (counted with the tokenizer); when none is left, a context-window error (which context_window_fallbacks
    /// handle). Null when there is nothing to check.
    /// </summary>
    public static (ModelGroup? Fitting, ProviderError? TooLong)? PreCallCheck(ModelGroup group, JsonObject request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(group);
        ArgumentNullException.ThrowIfNull(request);
        if (!group.Deployments.Any(d => d.ModelInfo.MaxInputTokens is not null) || request["messages"] is not JsonArray messages)
        {
            return null;
        }

        var tokens = TokenCounter.AddMessages(new TokenTally(cancellationToken), messages).Add(request["system"] switch
        {
            JsonValue v when v.TryGetValue<string>(out var text) => text,
            JsonArray blocks => string.Join('\n', blocks.Select(b => b?["text"] is JsonValue t && t.TryGetValue<string>(out var s) ? s : "")),
            _ => "",
        }).Total;
        var fitting = group.Deployments.Where(d => d.ModelInfo.MaxInputTokens is not { } max || tokens <= max).ToList();
        if (fitting.Count == 0)
        {
            var largest = group.Deployments.Max(d => d.ModelInfo.MaxInputTokens ?? 0);
            return (null, new ProviderError(ProviderErrorClass.ContextWindowExceeded, 400,
                $"The prompt has {tokens} tokens, more than any deployment of '{group.Name}' accepts (max_input_tokens {largest})",
                "context_length_exceeded"));
        }

        return (fitting.Count == group.Deployments.Count ? group : group with { Deployments = fitting }, null);
    }

    /// <summary>
    /// Runs one provider call on the deployment the router leased, then returns the lease with what happened
    /// (usage, latency, failure) and publishes the cooldown the outcome started, if any.
    /// </summary>
    public static async Task CallLeasedAsync(DeploymentRouter router, ConsumeContext context, PreparedRequest prepared, Func<CallOutcome, Task> call)
    {
        ArgumentNullException.ThrowIfNull(router);
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(prepared);
        ArgumentNullException.ThrowIfNull(call);
        var outcome = new CallOutcome();
        try
        {
            await call(outcome);
        }
        finally
        {
            if (await router.ReleaseAsync(prepared.Lease, outcome.Usage, outcome.LatencyMs, outcome.Error, outcome.Abandoned) is { } cooledDown)
            {
                await context.Publish(cooledDown, CancellationToken.None);
            }
        }
    }

    /// <summary>
    /// The usage event for one finished call (Workers → Billing), attributed to the command's caller, with the attempt
    /// that made it when that travels along (<see cref="AttemptReport.ForUsageAsync"/>).
    /// </summary>
    public static Task PublishUsage(
        ConsumeContext context, Guid requestId, string groupName, string deploymentId, string providerName,
        TokenUsage usage, double elapsedMs, double? timeToFirstTokenMs, ProviderError? error, DateTimeOffset completedAt,
        Caller? caller, decimal? cost, (string? Messages, string? Response) stored = default, string operation = "chat", string? responseModel = null,
        IReadOnlyList<GuardrailOutcome>? guardrails = null, InferenceAttempted? attempt = null)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(usage);
        // the otel callback: this call as a GenAI span under the consume span
        GenAiTelemetry.RecordCall(new GenAiCall
        {
            RequestId = requestId,
            Operation = operation,
            Provider = providerName,
            RequestModel = groupName,
            ResponseModel = responseModel,
            DeploymentId = deploymentId,
            InputTokens = usage.PromptTokens,
            OutputTokens = usage.CompletionTokens,
            Cost = error is null ? cost : 0m,
            ErrorClass = error?.Class.ToString(),
            Start = completedAt - TimeSpan.FromMilliseconds(elapsedMs),
            End = completedAt,
        });
        return context.Publish(new UsageRecorded
        {
            RequestId = requestId,
            ModelGroup = groupName,
            DeploymentId = deploymentId,
            Provider = providerName,
            PromptTokens = usage.PromptTokens,
            CompletionTokens = usage.CompletionTokens,
            LatencyMs = elapsedMs,
            TimeToFirstTokenMs = timeToFirstTokenMs,
            Succeeded = error is null,
            ErrorClass = error?.Class.ToString(),
            CompletedAt = completedAt,
            Caller = caller,
            Cost = error is null ? cost : 0m,
            Messages = stored.Messages,
            Response = stored.Response,
            Guardrails = guardrails,
            Attempt = attempt,
        }, context.CancellationToken);
    }

    /// <summary>The deployment's provider is unknown, or has no implementation of <paramref name="what"/> here.</summary>
    public static ProviderError Unsupported(ModelDeployment deployment, string what)
    {
        ArgumentNullException.ThrowIfNull(deployment);
        if (ProviderResolver.AzureWithoutBase(deployment))
        {
            return new ProviderError(ProviderErrorClass.BadRequest, 400,
                $"Azure deployment '{deployment.Model}' (model group '{deployment.ModelName}') has no api_base (nor AZURE_API_BASE): Broker cannot call it; " +
                "set litellm_params.api_base to the resource's endpoint", "deployment_not_configured");
        }

        return ProviderCatalog.IsKnown(deployment.Provider)
            ? new ProviderError(ProviderErrorClass.BadRequest, 400,
                $"Provider '{deployment.Provider}' ({deployment.Model}) does not support {what} here yet; set api_base to call it as an OpenAI-compatible API")
            : new ProviderError(ProviderErrorClass.BadRequest, 400,
                $"Unknown provider '{deployment.Provider}' in '{deployment.Model}' (model group '{deployment.ModelName}'): Broker cannot call this " +
                $"deployment; set api_base to call it as an OpenAI-compatible API, or use a known provider ({string.Join(", ", ProviderCatalog.Known)})",
                "unknown_provider");
    }

    public static Task RespondFailed(
        ConsumeContext context, Guid requestId, string queue, string? deploymentId, ProviderError error, KeptAnswers answers, int? keepAnswerSeconds)
    {
        ArgumentNullException.ThrowIfNull(context);
        return Reply(context, requestId, ToFailed(requestId, queue, deploymentId, error), answers, keepAnswerSeconds);
    }

    /// <summary>
    /// Answers the command's sender at its ResponseAddress, whether or not that Ingress instance still exists (see
    /// <see cref="InstanceEndpoint"/>); a command without one is not answered. A request sent with an
    /// <c>Idempotency-Key</c> (<paramref name="keepAnswerSeconds"/> set) has its answer kept first (<see cref="KeptAnswers"/>),
    /// so a repeat still gets it if that Ingress dies or loses the reply.
    /// </summary>
    public static async Task Reply<T>(ConsumeContext context, Guid requestId, T reply, KeptAnswers answers, int? keepAnswerSeconds)
        where T : class
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(answers);
        if (context.ResponseAddress is not { } address)
        {
            return;
        }

        await answers.KeepAsync(requestId, reply, keepAnswerSeconds);
        await InstanceEndpoint.SendAsync(context, address, reply, s => s.RequestId = context.RequestId);
    }

    /// <summary>A provider error as the caller sees it.</summary>
    public static InferenceFailed ToFailed(Guid requestId, string queue, string? deploymentId, ProviderError error)
    {
        ArgumentNullException.ThrowIfNull(error);
        return new InferenceFailed
        {
            RequestId = requestId,
            StatusCode = error.StatusCode,
            ErrorClass = error.Class,
            Message = error.Message,
            Type = error.Type,
            Code = error.Code,
            RetryAfterSeconds = error.RetryAfterSeconds,
            DeploymentId = deploymentId,
            Queue = queue,
        };
    }
}

/// <summary>A request ready for its provider: the group, the chosen deployment, the client's body and the slot taken.</summary>
public sealed record PreparedRequest(ModelGroup Group, ModelDeployment Deployment, JsonObject Body, RoutingLease Lease);
