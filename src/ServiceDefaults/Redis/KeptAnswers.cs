using System.Text.Json;
using System.Text.Json.Nodes;
using Broker.Contracts.Inference;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace Broker.ServiceDefaults.Redis;

/// <summary>
/// The final answers of requests sent with an <c>Idempotency-Key</c> (<c>KeepAnswerSeconds</c> on their command), kept
/// in Redis under <c>&lt;prefix&gt;:answer:{requestId}</c> by the worker (or retry saga) that produced them, before it
/// replies. Workers own the family and write it; an Ingress only reads it, to answer a repeat of a request whose own
/// Ingress died or lost the reply (the first request's answer, never a second provider call). The value is the reply
/// message itself (<see cref="ChatCompletionSucceeded"/>, <see cref="EmbeddingSucceeded"/>, <see cref="RerankSucceeded"/>
/// or <see cref="InferenceFailed"/>), so the reading Ingress renders it exactly as the first would have. A streamed
/// request's answer is its whole stream as one last <see cref="ChatCompletionChunksStreamed"/> batch (every chunk in
/// order, the usage, and the error a failed stream ended with), kept once the stream ended, before its last batch is
/// sent. Without Redis nothing is kept.
/// </summary>
public sealed class KeptAnswers(BrokerRedis redis, ILogger<KeptAnswers> logger)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    private static readonly Dictionary<string, Type> Types = new[]
    {
        typeof(ChatCompletionSucceeded), typeof(EmbeddingSucceeded), typeof(RerankSucceeded), typeof(InferenceFailed),
        typeof(ChatCompletionChunksStreamed),
    }.ToDictionary(t => t.Name, StringComparer.Ordinal);

    /// <summary>Whether answers can be looked up now (Redis configured and answering).</summary>
    public bool Available => redis.Available() is not null;

    /// <summary>
    /// Keeps <paramref name="reply"/> (a reply type above) for <paramref name="keepSeconds"/> when set; a Redis that does not
    /// take it in time only costs the repeat its answer (it gets 409 <c>idempotency_outcome_unknown</c>), not the reply.
    /// </summary>
    public async Task KeepAsync(Guid requestId, object reply, int? keepSeconds)
    {
        ArgumentNullException.ThrowIfNull(reply);
        if (keepSeconds is not > 0 || !Types.ContainsKey(reply.GetType().Name) || redis.Available() is not { } db)
        {
            return;
        }

        var value = new JsonObject
        {
            ["t"] = reply.GetType().Name,
            ["m"] = JsonSerializer.SerializeToNode(reply, reply.GetType(), Json),
        }.ToJsonString();
        try
        {
            await db.StringSetAsync(Key(requestId), value, TimeSpan.FromSeconds(keepSeconds.Value));
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            Log.AnswerNotKept(logger, requestId, ex.GetType().Name + ": " + ex.Message);
            redis.ReportFailure(ex);
        }
    }

    /// <summary>The kept answer of <paramref name="requestId"/>, or null when there is none (yet) or Redis cannot say.</summary>
    public async Task<object?> FindAsync(Guid requestId, CancellationToken cancellationToken)
    {
        if (redis.Available() is not { } db)
        {
            return null;
        }

        try
        {
            cancellationToken.ThrowIfCancellationRequested();
            var value = await db.StringGetAsync(Key(requestId));
            return value.HasValue ? Parse(value.ToString()) : null;
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            redis.ReportFailure(ex);
            return null;
        }
    }

    private static object? Parse(string value)
    {
        try
        {
            return JsonNode.Parse(value) is JsonObject o && o["t"]?.GetValue<string>() is { } name && Types.TryGetValue(name, out var type)
                ? o["m"].Deserialize(type, Json)
                : null;
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException or FormatException)
        {
            return null;
        }
    }

    /// <summary><c>&lt;prefix&gt;:answer:{requestId}</c>, the request id a hash tag like the idempotency keys' own.</summary>
    private RedisKey Key(Guid requestId) => $"{redis.Options.KeyPrefix}:answer:{{{requestId}}}";
}
