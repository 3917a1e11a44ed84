using System.Globalization;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using Broker.Billing.Alerts;

namespace Broker.Billing.Callbacks;

/// <summary>
/// Langfuse: <c>POST {LANGFUSE_HOST}/api/public/ingestion</c> with basic auth (public key : secret key) and a batch of
/// a <c>trace-create</c> and a <c>generation-create</c> event per request (usage, cost, level ERROR for failures).
/// </summary>
public sealed class LangfuseSink(string host, string publicKey, string secretKey, IHttpClientFactory httpClients, TimeProvider timeProvider) : ICallbackSink
{
    /// <summary>From LANGFUSE_PUBLIC_KEY / LANGFUSE_SECRET_KEY (or litellm_settings.langfuse_public_key / _secret_key) and LANGFUSE_HOST.</summary>
    public static LangfuseSink? Create(CallbackSinkContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var settings = context.Config.LitellmSettings;
        var publicKey = settings.LangfusePublicKey?.Value ?? context.Env.Get("LANGFUSE_PUBLIC_KEY");
        var secretKey = settings.LangfuseSecretKey?.Value ?? context.Env.Get("LANGFUSE_SECRET_KEY");
        return publicKey is null || secretKey is null
            ? null
            : new LangfuseSink(context.Env.Get("LANGFUSE_HOST") ?? "https://cloud.langfuse.com", publicKey, secretKey, context.HttpClients, context.TimeProvider);
    }

    public string Name => "langfuse";

    public bool TakesSuccess => true;

    public bool TakesFailure => true;

    public async Task SendAsync(CallbackEvent callbackEvent, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(callbackEvent);
        using var request = new HttpRequestMessage(HttpMethod.Post, host.TrimEnd('/') + "/api/public/ingestion")
        {
            Content = JsonContent.Create(Batch(callbackEvent, timeProvider.GetUtcNow())),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Basic",
            Convert.ToBase64String(Encoding.UTF8.GetBytes($"{publicKey}:{secretKey}")));
        using var client = httpClients.CreateClient(AlertingRegistration.HttpClientName);
        using var response = await client.SendAsync(request, cancellationToken);
        await AlertDeliveryException.EnsureSuccessAsync(response, "Langfuse", cancellationToken);
    }

    public static JsonObject Batch(CallbackEvent e, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(e);
        var u = e.Usage;
        var traceId = u.RequestId.ToString();
        var timestamp = Iso(now);
        var trace = new JsonObject
        {
            ["id"] = traceId,
            ["name"] = "litellm-acompletion",
            ["timestamp"] = Iso(e.StartTime),
            ["userId"] = e.Caller?.EndUser ?? e.Caller?.UserId,
            ["tags"] = new JsonArray(Tags(e).Select(t => (JsonNode?)JsonValue.Create(t)).ToArray()),
            ["metadata"] = e.Metadata(),
        };
        var generation = new JsonObject
        {
            ["id"] = traceId,
            ["traceId"] = traceId,
            ["name"] = "litellm-acompletion",
            ["startTime"] = Iso(e.StartTime),
            ["endTime"] = Iso(e.EndTime),
            ["completionStartTime"] = e.CompletionStartTime is { } cst ? Iso(cst) : null,
            ["model"] = u.ModelGroup,
            ["usage"] = new JsonObject
            {
                ["input"] = u.PromptTokens,
                ["output"] = u.CompletionTokens,
                ["total"] = u.PromptTokens + u.CompletionTokens,
                ["unit"] = "TOKENS",
            },
            ["usageDetails"] = new JsonObject
            {
                ["input"] = u.PromptTokens,
                ["output"] = u.CompletionTokens,
                ["total"] = u.PromptTokens + u.CompletionTokens,
            },
            ["costDetails"] = new JsonObject { ["total"] = e.Cost },
            ["level"] = e.Succeeded ? "DEFAULT" : "ERROR",
            ["statusMessage"] = e.Succeeded ? null : u.ErrorClass ?? "Unknown",
            ["metadata"] = e.Metadata(),
        };
        if (e.Options.TurnOffMessageLogging)
        {
            trace["input"] = CallbackEvent.Redacted;
            trace["output"] = CallbackEvent.Redacted;
            generation["input"] = CallbackEvent.Redacted;
            generation["output"] = CallbackEvent.Redacted;
        }

        return new JsonObject
        {
            ["batch"] = new JsonArray(
                new JsonObject { ["id"] = Guid.NewGuid().ToString(), ["type"] = "trace-create", ["timestamp"] = timestamp, ["body"] = trace },
                new JsonObject { ["id"] = Guid.NewGuid().ToString(), ["type"] = "generation-create", ["timestamp"] = timestamp, ["body"] = generation }),
        };
    }

    /// <summary>langfuse_default_tags, as LiteLLM fills them (<c>cache_hit:false</c>, <c>user_api_key_alias:...</c>).</summary>
    private static IEnumerable<string> Tags(CallbackEvent e)
    {
        foreach (var tag in e.Caller?.Tags ?? [])
        {
            yield return tag;
        }

        foreach (var name in e.Options.LangfuseDefaultTags)
        {
            var value = name switch
            {
                "cache_hit" => e.Usage.CacheHit ? "true" : "false",
                "user_api_key_alias" => e.Caller?.KeyAlias,
                "user_api_key_user_id" => e.Caller?.UserId,
                "user_api_key_team_id" => e.Caller?.TeamId,
                "user_api_key_end_user_id" => e.Caller?.EndUser,
                "proxy_base_url" => null,
                _ => null,
            };
            if (value is not null)
            {
                yield return $"{name}:{value}";
            }
        }
    }

    private static string Iso(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);
}
