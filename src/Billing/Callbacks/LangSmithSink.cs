using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Broker.Billing.Alerts;

namespace Broker.Billing.Callbacks;

/// <summary>
/// LangSmith over its HTTP API: <c>POST {LANGSMITH_BASE_URL}/runs/batch</c> with the <c>x-api-key</c> header and one
/// finished <c>llm</c> run per request in <c>post</c> (project LANGSMITH_PROJECT, default <c>litellm-completion</c>;
/// name LANGSMITH_DEFAULT_RUN_NAME, default <c>LLMRun</c>): the standard logging payload's fields as inputs, usage and
/// cost as outputs, the caller's fields as metadata, and the error for failures.
/// </summary>
public sealed class LangSmithSink(string baseUrl, string apiKey, string project, string runName, IHttpClientFactory httpClients) : ICallbackSink
{
    public const string DefaultBaseUrl = "https://api.smith.langchain.com";

    /// <summary>From LANGSMITH_API_KEY, LANGSMITH_PROJECT, LANGSMITH_BASE_URL and LANGSMITH_DEFAULT_RUN_NAME.</summary>
    public static LangSmithSink? Create(CallbackSinkContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var env = context.Env;
        return env.Get("LANGSMITH_API_KEY") is not { } apiKey
            ? null
            : new LangSmithSink((env.Get("LANGSMITH_BASE_URL") ?? DefaultBaseUrl).TrimEnd('/'), apiKey,
                env.Get("LANGSMITH_PROJECT") ?? "litellm-completion", env.Get("LANGSMITH_DEFAULT_RUN_NAME") ?? "LLMRun", context.HttpClients);
    }

    public string Name => "langsmith";

    public bool TakesSuccess => true;

    public bool TakesFailure => true;

    public async Task SendAsync(CallbackEvent callbackEvent, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(callbackEvent);
        using var request = new HttpRequestMessage(HttpMethod.Post, baseUrl + "/runs/batch")
        {
            Content = JsonContent.Create(new JsonObject { ["post"] = new JsonArray(Run(callbackEvent, project, runName)) }),
        };
        request.Headers.Add("x-api-key", apiKey);
        using var client = httpClients.CreateClient(AlertingRegistration.HttpClientName);
        using var response = await client.SendAsync(request, cancellationToken);
        await AlertDeliveryException.EnsureSuccessAsync(response, "LangSmith", cancellationToken);
    }

    /// <summary>One root run: its id is the request id, so a repeat delivery of the same request is the same run.</summary>
    public static JsonObject Run(CallbackEvent e, string project, string runName)
    {
        ArgumentNullException.ThrowIfNull(e);
        var u = e.Usage;
        var id = u.RequestId.ToString();
        var payload = e.StandardPayload();
        var inputs = new JsonObject
        {
            ["model"] = u.ModelGroup,
            ["call_type"] = payload["call_type"]?.DeepClone(),
            ["litellm_call_id"] = id,
            ["custom_llm_provider"] = u.Provider,
            ["messages"] = e.Options.TurnOffMessageLogging ? CallbackEvent.Redacted : null,
        };
        var outputs = new JsonObject
        {
            ["usage"] = new JsonObject
            {
                ["prompt_tokens"] = u.PromptTokens,
                ["completion_tokens"] = u.CompletionTokens,
                ["total_tokens"] = u.PromptTokens + u.CompletionTokens,
            },
            ["response_cost"] = e.Cost,
            ["response"] = e.Options.TurnOffMessageLogging ? CallbackEvent.Redacted : null,
        };
        var run = new JsonObject
        {
            ["id"] = id,
            ["trace_id"] = id,
            ["dotted_order"] = e.StartTime.UtcDateTime.ToString("yyyyMMdd'T'HHmmssffffff", CultureInfo.InvariantCulture) + "Z" + id,
            ["name"] = runName,
            ["run_type"] = "llm",
            ["session_name"] = project,
            ["start_time"] = Iso(e.StartTime),
            ["end_time"] = Iso(e.EndTime),
            ["inputs"] = inputs,
            ["outputs"] = outputs,
            ["extra"] = new JsonObject { ["metadata"] = payload },
            ["tags"] = new JsonArray((e.Caller?.Tags ?? []).Select(t => (JsonNode?)JsonValue.Create(t)).ToArray()),
        };
        if (!e.Succeeded)
        {
            run["error"] = u.ErrorClass ?? "Unknown";
        }

        return run;
    }

    private static string Iso(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", CultureInfo.InvariantCulture);
}
