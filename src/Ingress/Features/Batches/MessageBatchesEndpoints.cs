using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Broker.Config;
using Broker.Ingress.Features.Files;
using Broker.Ingress.Features.Messages;
using Broker.Ingress.Http;
using Broker.Ingress.Inference;
using Broker.Ingress.Auth;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Broker.Ingress.Features.Batches;

/// <summary>
/// Anthropic's Message Batches (<c>/v1/messages/batches</c>) on the same machinery as OpenAI's batches: the requests
/// are stored as a batch input file of <c>/v1/messages</c> lines, run through the model groups' queues, and the
/// results come back as Anthropic's JSONL (<c>{"custom_id","result":{"type":"succeeded"|"errored"|"canceled"|"expired",...}}</c>).
/// </summary>
public static class MessageBatchesEndpoints
{
    /// <summary>Anthropic's limit of requests per batch.</summary>
    public const int MaxRequests = 100_000;

    public static IEndpointRouteBuilder MapMessageBatches(this IEndpointRouteBuilder app)
    {
        ArgumentNullException.ThrowIfNull(app);
        foreach (var prefix in new[] { "/v1", "" })
        {
            var group = app.MapGroup(prefix).CheckCallers<AnthropicKeyFilter>();
            group.MapPost("/messages/batches", Create).AllowAnyKey().JsonBodyUpTo(FileStore.MaxBytes);
            group.MapGet("/messages/batches", List).AllowAnyKey();
            group.MapGet("/messages/batches/{id}", Get).AllowAnyKey();
            group.MapGet("/messages/batches/{id}/results", Results).AllowAnyKey();
            group.MapPost("/messages/batches/{id}/cancel", Cancel).AllowAnyKey();
        }

        return app;
    }

    private static AnthropicErrorResult NoDatabase() => new(StatusCodes.Status501NotImplemented, "api_error",
        "Message batches need a database: set general_settings.database_url (or DATABASE_URL).");

    private static AnthropicErrorResult NotFound(string id) => new(StatusCodes.Status404NotFound, "not_found_error", $"message batch {id} not found");

    private static async Task<IResult> Create(
        HttpContext http, IProxyConfigProvider config, GroupBalancer balancer, IBatchStore store, IFileStore files, BatchDispatcher dispatcher, TimeProvider timeProvider,
        Guardrails.GuardrailPipeline guardrails)
    {
        if (!store.IsConfigured)
        {
            return NoDatabase();
        }

        var cancellationToken = http.RequestAborted;
        var (body, _, readError) = await JsonBodyReader.ReadAsync(http, config);
        if (readError is not null)
        {
            return AnthropicErrorResult.From(readError);
        }

        if (body!["requests"] is not JsonArray { Count: > 0 } requests)
        {
            return AnthropicErrorResult.BadRequest("requests: a non-empty list of {custom_id, params} is required");
        }

        if (requests.Count > MaxRequests)
        {
            return AnthropicErrorResult.BadRequest($"requests: at most {MaxRequests} requests per batch");
        }

        // default_on and key- or team-pinned guardrails cannot run on lines that run later: the batch is refused, never run unchecked
        if (guardrails.Pinned(http) is { Count: > 0 } pinned)
        {
            return AnthropicErrorResult.From(Guardrails.GuardrailErrors.NotApplicable(pinned, "batch requests run later, outside this request; send these requests to /v1/messages"));
        }

        var scope = AuthContext.Of(http) is { IsAdmin: false } auth ? new ModelScope(auth.Key, auth.User, auth.Team) : ModelScope.Unrestricted;
        var seen = new HashSet<string>(StringComparer.Ordinal);
        using var jsonl = new MemoryStream();
        for (var i = 0; i < requests.Count; i++)
        {
            if (requests[i] is not JsonObject request ||
                request["custom_id"] is not JsonValue id || id.GetValueKind() != JsonValueKind.String || id.GetValue<string>().Length is 0 or > 64)
            {
                return AnthropicErrorResult.BadRequest($"requests.{i}.custom_id: a string of 1 to 64 characters is required");
            }

            if (!seen.Add(id.GetValue<string>()))
            {
                return AnthropicErrorResult.BadRequest($"requests.{i}.custom_id: '{id.GetValue<string>()}' is used by another request of this batch");
            }

            if (request["params"] is not JsonObject parameters)
            {
                return AnthropicErrorResult.BadRequest($"requests.{i}.params: Field required");
            }

            if (MessagesRequestValidator.Validate(parameters, requireMaxTokens: true) is { } invalid)
            {
                return AnthropicErrorResult.BadRequest($"requests.{i}.params: {invalid.Message}");
            }

            var model = parameters["model"]!.GetValue<string>();
            if (balancer.Resolve(config.Current, model) is null)
            {
                return AnthropicErrorResult.BadRequest($"requests.{i}.params.model: {model} is not a model of this gateway");
            }

            // the submitter's models hold for every request of the batch (checked again when each line runs)
            if (scope.Refusal(config.Current, model) is { } denied)
            {
                return AnthropicErrorResult.BadRequest($"requests.{i}.params.model: {denied.Error.Error.Message}");
            }

            var line = new JsonObject
            {
                ["custom_id"] = id.GetValue<string>(),
                ["method"] = "POST",
                ["url"] = BatchEndpoints.Messages,
                ["body"] = parameters.DeepClone(),
            };
            jsonl.Write(Encoding.UTF8.GetBytes(line.ToJsonString()));
            jsonl.WriteByte((byte)'\n');
        }

        jsonl.Position = 0;
        var owner = FileOwner.Of(http);
        var file = await files.CreateAsync(owner, "batch", "message_batch_requests.jsonl", jsonl, FileStore.MaxBytes, cancellationToken);
        var now = timeProvider.GetUtcNow();
        var batch = new BatchRecord
        {
            Id = "msgbatch_" + Guid.CreateVersion7(now).ToString("N"),
            Owner = owner,
            Endpoint = BatchEndpoints.Messages,
            InputFileId = file!.Id,
            CompletionWindow = "24h",
            Status = "validating",
            CreatedAt = now,
            ExpiresAt = now.AddHours(24),
            Total = requests.Count,
        };
        // the admin's batches run as the admin (a request's end user is kept for attribution on live calls only)
        var caller = AuthContext.Of(http) is { IsAdmin: true } ? null : http.GetCaller();
        await store.InsertAsync(batch, caller is null ? null : JsonSerializer.Serialize(caller), cancellationToken);
        dispatcher.Wake();
        return FilesEndpoints.Json(ToJson(http, batch, new Dictionary<string, int> { [BatchLineStatus.Pending] = requests.Count }));
    }

    private static async Task<IResult> Get(HttpContext http, IBatchStore store, string id)
    {
        if (!store.IsConfigured)
        {
            return NoDatabase();
        }

        var batch = await store.GetAsync(FileOwner.Of(http), id, http.RequestAborted);
        if (batch is null || batch.Endpoint != BatchEndpoints.Messages)
        {
            return NotFound(id);
        }

        return FilesEndpoints.Json(ToJson(http, batch, await CountsAsync(store, batch, http.RequestAborted)));
    }

    private static async Task<IResult> Cancel(HttpContext http, IBatchStore store, BatchDispatcher dispatcher, string id)
    {
        if (!store.IsConfigured)
        {
            return NoDatabase();
        }

        var owner = FileOwner.Of(http);
        var existing = await store.GetAsync(owner, id, http.RequestAborted);
        if (existing is null || existing.Endpoint != BatchEndpoints.Messages)
        {
            return NotFound(id);
        }

        var batch = await store.CancelAsync(owner, id, http.RequestAborted);
        dispatcher.Wake();
        return FilesEndpoints.Json(ToJson(http, batch!, await CountsAsync(store, batch!, http.RequestAborted)));
    }

    private static async Task<IResult> List(HttpContext http, IBatchStore store, string? after_id, int? limit)
    {
        if (!store.IsConfigured)
        {
            return NoDatabase();
        }

        var take = Math.Clamp(limit ?? 20, 1, 1000);
        var page = await store.ListAsync(FileOwner.Of(http), after_id, take + 1, http.RequestAborted, BatchEndpoints.Messages);
        var shown = page.Take(take).ToList();
        var data = new JsonArray();
        foreach (var batch in shown)
        {
            data.Add(ToJson(http, batch, await CountsAsync(store, batch, http.RequestAborted)));
        }

        return FilesEndpoints.Json(new JsonObject
        {
            ["data"] = data,
            ["has_more"] = page.Count > take,
            ["first_id"] = shown.Count > 0 ? shown[0].Id : null,
            ["last_id"] = shown.Count > 0 ? shown[^1].Id : null,
        });
    }

    private static async Task<IResult> Results(HttpContext http, IBatchStore store, IFileStore files, string id)
    {
        if (!store.IsConfigured)
        {
            return NoDatabase();
        }

        var batch = await store.GetAsync(FileOwner.Of(http), id, http.RequestAborted);
        if (batch is null || batch.Endpoint != BatchEndpoints.Messages)
        {
            return NotFound(id);
        }

        if (ProcessingStatus(batch.Status) != "ended")
        {
            return AnthropicErrorResult.BadRequest($"message batch {id} has not ended yet: its results are not available");
        }

        return new ResultsResult(files, [batch.OutputFileId, batch.ErrorFileId]);
    }

    private static async Task<IReadOnlyDictionary<string, int>> CountsAsync(IBatchStore store, BatchRecord batch, CancellationToken cancellationToken) =>
        batch.Status is "validating" or "failed"
            ? new Dictionary<string, int> { [BatchLineStatus.Pending] = batch.Status == "validating" ? batch.Total : 0 }
            : await store.CountByStatusAsync(batch.Id, cancellationToken);

    private static string ProcessingStatus(string status) => status switch
    {
        "cancelling" => "canceling",
        "completed" or "cancelled" or "expired" or "failed" => "ended",
        _ => "in_progress",
    };

    /// <summary>Anthropic's message batch object.</summary>
    private static JsonObject ToJson(HttpContext http, BatchRecord batch, IReadOnlyDictionary<string, int> counts)
    {
        static JsonNode? At(DateTimeOffset? at) => at is { } t ? JsonValue.Create(t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", CultureInfo.InvariantCulture)) : null;
        int Count(string status) => counts.TryGetValue(status, out var n) ? n : 0;
        var status = ProcessingStatus(batch.Status);
        var ended = status == "ended" ? batch.CompletedAt ?? batch.CancelledAt ?? batch.ExpiredAt ?? batch.FailedAt : null;
        return new JsonObject
        {
            ["id"] = batch.Id,
            ["type"] = "message_batch",
            ["processing_status"] = status,
            ["request_counts"] = new JsonObject
            {
                ["processing"] = Count(BatchLineStatus.Pending) + Count(BatchLineStatus.InFlight),
                ["succeeded"] = Count(BatchLineStatus.Done),
                ["errored"] = Count(BatchLineStatus.Failed),
                ["canceled"] = Count(BatchLineStatus.Cancelled),
                ["expired"] = Count(BatchLineStatus.Expired),
            },
            ["ended_at"] = At(ended),
            ["created_at"] = At(batch.CreatedAt),
            ["expires_at"] = At(batch.ExpiresAt),
            ["archived_at"] = null,
            ["cancel_initiated_at"] = At(batch.CancellingAt),
            ["results_url"] = status == "ended"
                ? $"{http.Request.Scheme}://{http.Request.Host}{(http.Request.Path.StartsWithSegments("/v1", StringComparison.Ordinal) ? "/v1" : "")}/messages/batches/{batch.Id}/results"
                : null,
        };
    }

    /// <summary>Streams the batch's result lines (succeeded ones, then the others) as JSONL.</summary>
    private sealed class ResultsResult(IFileStore files, string?[] fileIds) : IResult
    {
        public async Task ExecuteAsync(HttpContext httpContext)
        {
            httpContext.Response.StatusCode = StatusCodes.Status200OK;
            httpContext.Response.ContentType = "application/x-jsonl";
            foreach (var fileId in fileIds)
            {
                if (fileId is not null)
                {
                    await files.CopyContentAsync(fileId, httpContext.Response.Body, httpContext.RequestAborted);
                }
            }
        }
    }
}
