using System.Diagnostics;

namespace Broker.ServiceDefaults.Observability;

/// <summary>
/// One span per provider call, named <c>{operation} {model}</c> (kind client, the GenAI semantic conventions' shape),
/// under the span that consumed the request, with the GenAI attributes LiteLLM's otel callback sets: system/provider,
/// request and response model, input and output tokens, cost.
/// </summary>
public static class GenAiTelemetry
{
    public const string SourceName = "Broker.GenAI";

    private static readonly ActivitySource Source = new(SourceName);

    /// <summary>Records a finished call as a span from its start to its end time; nothing when tracing is off.</summary>
    public static void RecordCall(GenAiCall call)
    {
        ArgumentNullException.ThrowIfNull(call);
        if (!Source.HasListeners())
        {
            return;
        }

        using var activity = Source.StartActivity($"{call.Operation} {call.RequestModel}", ActivityKind.Client,
            Activity.Current?.Context ?? default, startTime: call.Start);
        if (activity is null)
        {
            return;
        }

        activity.SetTag("gen_ai.operation.name", call.Operation);
        activity.SetTag("gen_ai.system", call.Provider);
        activity.SetTag("gen_ai.provider.name", call.Provider);
        activity.SetTag("gen_ai.request.model", call.RequestModel);
        activity.SetTag("gen_ai.response.model", call.ResponseModel ?? call.RequestModel);
        activity.SetTag("gen_ai.usage.input_tokens", call.InputTokens);
        activity.SetTag("gen_ai.usage.output_tokens", call.OutputTokens);
        if (call.Cost is { } cost)
        {
            activity.SetTag("gen_ai.usage.cost", (double)cost);
        }

        activity.SetTag("broker.request_id", call.RequestId.ToString());
        activity.SetTag("broker.deployment_id", call.DeploymentId);
        if (call.ErrorClass is { } error)
        {
            activity.SetTag("error.type", error);
            activity.SetStatus(ActivityStatusCode.Error, error);
        }

        activity.SetEndTime(call.End.UtcDateTime);
    }
}

/// <summary>What <see cref="GenAiTelemetry.RecordCall"/> puts on a span.</summary>
public sealed record GenAiCall
{
    public required Guid RequestId { get; init; }

    /// <summary>chat or embeddings.</summary>
    public required string Operation { get; init; }

    public required string Provider { get; init; }

    /// <summary>The model the client asked for (the model group).</summary>
    public required string RequestModel { get; init; }

    /// <summary>The model the provider said answered, when it said.</summary>
    public string? ResponseModel { get; init; }

    public required string DeploymentId { get; init; }

    public required int InputTokens { get; init; }

    public required int OutputTokens { get; init; }

    public decimal? Cost { get; init; }

    public string? ErrorClass { get; init; }

    public required DateTimeOffset Start { get; init; }

    public required DateTimeOffset End { get; init; }
}
