using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Broker.Config;
using Broker.Ingress.Auth;
using Broker.Ingress.Errors;
using Broker.Ingress.Features.Files;
using Broker.Ingress.Http;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Broker.Ingress.Features.Batches;

/// <summary>OpenAI's Batches API (<c>/v1/batches</c>): create, get, cancel, list.</summary>
public static class BatchesEndpoints
{
    public static RouteGroupBuilder MapBatches(this RouteGroupBuilder group)
    {
        ArgumentNullException.ThrowIfNull(group);
        group.MapPost("/batches", Create).AllowAnyKey();
        group.MapGet("/batches", List).AllowAnyKey();
        group.MapGet("/batches/{id}", Get).AllowAnyKey();
        group.MapPost("/batches/{id}/cancel", Cancel).AllowAnyKey();
        return group;
    }

    private static OpenAiErrorResult NotFound(string id) =>
        new(StatusCodes.Status404NotFound, $"No such Batch object: {id}", "invalid_request_error", "id", null);

    private static async Task<IResult> Create(
        HttpContext http, IProxyConfigProvider config, IBatchStore store, IFileStore files, BatchDispatcher dispatcher, TimeProvider timeProvider,
        Guardrails.GuardrailPipeline guardrails)
    {
        if (!store.IsConfigured)
        {
            return FilesEndpoints.NoDatabase();
        }

        var cancellationToken = http.RequestAborted;
        var (body, _, readError) = await JsonBodyReader.ReadAsync(http, config);
        if (readError is not null)
        {
            return readError;
        }

        if (body!["input_file_id"] is not JsonValue input || input.GetValueKind() != JsonValueKind.String)
        {
            return OpenAiErrorResult.BadRequest("Missing required parameter: 'input_file_id'.", "input_file_id", "missing_required_parameter");
        }

        if (body["endpoint"] is not JsonValue endpointValue || endpointValue.GetValueKind() != JsonValueKind.String)
        {
            return OpenAiErrorResult.BadRequest("Missing required parameter: 'endpoint'.", "endpoint", "missing_required_parameter");
        }

        var endpoint = endpointValue.GetValue<string>();
        if (!BatchEndpoints.All.Contains(endpoint))
        {
            return OpenAiErrorResult.BadRequest(
                $"Invalid value for 'endpoint': '{endpoint}'. Supported values are: {string.Join(", ", BatchEndpoints.All.Select(e => $"'{e}'"))}.",
                "endpoint", "invalid_value");
        }

        var window = body["completion_window"] is JsonValue w && w.GetValueKind() == JsonValueKind.String ? w.GetValue<string>() : null;
        if (window is null)
        {
            return OpenAiErrorResult.BadRequest("Missing required parameter: 'completion_window'.", "completion_window", "missing_required_parameter");
        }

        if (ParseWindow(window) is not { } duration)
        {
            return OpenAiErrorResult.BadRequest(
                $"Invalid value for 'completion_window': '{window}'. Supported values are: '24h' (or another duration such as '1h', '30m', at most 30 days).",
                "completion_window", "invalid_value");
        }

        string? metadata = null;
        switch (body["metadata"])
        {
            case null:
                break;
            case JsonObject m when m.Count <= 16 && m.All(p => !p.Key.Contains('\0', StringComparison.Ordinal) &&
                                                               p.Value is JsonValue v && v.TryGetValue<string>(out var text) && !text.Contains('\0', StringComparison.Ordinal)):
                metadata = m.ToJsonString();
                break;
            default:
                return OpenAiErrorResult.BadRequest("Invalid 'metadata': expected an object of at most 16 string values (without NUL characters).", "metadata", "invalid_value");
        }

        var owner = FileOwner.Of(http);
        var fileId = input.GetValue<string>();
        if (fileId.Contains('\0', StringComparison.Ordinal))
        {
            return FilesEndpoints.NotFound(fileId.Replace("\0", "", StringComparison.Ordinal));
        }

        var file = await files.GetAsync(owner, fileId, cancellationToken);
        if (file is null)
        {
            return FilesEndpoints.NotFound(fileId);
        }

        if (file.Purpose != "batch")
        {
            return OpenAiErrorResult.BadRequest($"The input file {fileId} must have purpose 'batch' (it has '{file.Purpose}').", "input_file_id", "invalid_value");
        }

        // default_on and key- or team-pinned guardrails cannot run on lines that run later: the batch is refused, never run unchecked
        if (guardrails.Pinned(http) is { Count: > 0 } pinned)
        {
            return Guardrails.GuardrailErrors.NotApplicable(pinned, "batch lines run later, outside this request; send these requests to the live endpoint");
        }

        var now = timeProvider.GetUtcNow();
        var batch = new BatchRecord
        {
            Id = store.NewId(),
            Owner = owner,
            Endpoint = endpoint,
            InputFileId = fileId,
            CompletionWindow = window,
            Status = "validating",
            CreatedAt = now,
            ExpiresAt = now + duration,
            Metadata = metadata,
        };
        // the admin's batches run as the admin (a request's end user is kept for attribution on live calls only)
        var caller = AuthContext.Of(http) is { IsAdmin: true } ? null : http.GetCaller();
        await store.InsertAsync(batch, caller is null ? null : JsonSerializer.Serialize(caller), cancellationToken);
        dispatcher.Wake();
        return FilesEndpoints.Json(ToJson(batch));
    }

    private static async Task<IResult> Get(HttpContext http, IBatchStore store, string id)
    {
        if (!store.IsConfigured)
        {
            return FilesEndpoints.NoDatabase();
        }

        return await store.GetAsync(FileOwner.Of(http), id, http.RequestAborted) is { } batch ? FilesEndpoints.Json(ToJson(batch)) : NotFound(id);
    }

    private static async Task<IResult> Cancel(HttpContext http, IBatchStore store, BatchDispatcher dispatcher, string id)
    {
        if (!store.IsConfigured)
        {
            return FilesEndpoints.NoDatabase();
        }

        var batch = await store.CancelAsync(FileOwner.Of(http), id, http.RequestAborted);
        if (batch is null)
        {
            return NotFound(id);
        }

        if (batch.Status is not ("cancelling" or "cancelled"))
        {
            return new OpenAiErrorResult(StatusCodes.Status409Conflict,
                $"Cannot cancel a batch with status '{batch.Status}'.", "invalid_request_error", null, "batch_not_cancellable");
        }

        dispatcher.Wake();
        return FilesEndpoints.Json(ToJson(batch));
    }

    private static async Task<IResult> List(HttpContext http, IBatchStore store, string? after, int? limit)
    {
        if (!store.IsConfigured)
        {
            return FilesEndpoints.NoDatabase();
        }

        var take = Math.Clamp(limit ?? 20, 1, 100);
        var page = await store.ListAsync(FileOwner.Of(http), after, take + 1, http.RequestAborted);
        var shown = page.Take(take).ToList();
        return FilesEndpoints.Json(new JsonObject
        {
            ["object"] = "list",
            ["data"] = new JsonArray(shown.Select(b => (JsonNode)ToJson(b)).ToArray()),
            ["first_id"] = shown.Count > 0 ? shown[0].Id : null,
            ["last_id"] = shown.Count > 0 ? shown[^1].Id : null,
            ["has_more"] = page.Count > take,
        });
    }

    /// <summary><c>24h</c> (OpenAI's one value) or another whole number of seconds, minutes, hours or days.</summary>
    /// <summary>The longest completion_window accepted (30 days).</summary>
    private const long MaxWindowSeconds = 30L * 24 * 3600;

    public static TimeSpan? ParseWindow(string window)
    {
        ArgumentNullException.ThrowIfNull(window);
        if (window.Length < 2 || !long.TryParse(window.AsSpan(0, window.Length - 1), NumberStyles.None, CultureInfo.InvariantCulture, out var n) || n <= 0)
        {
            return null;
        }

        long? seconds = window[^1] switch
        {
            's' => n,
            'm' => n <= MaxWindowSeconds / 60 ? n * 60 : null,
            'h' => n <= MaxWindowSeconds / 3600 ? n * 3600 : null,
            'd' => n <= MaxWindowSeconds / 86400 ? n * 86400 : null,
            _ => null,
        };
        return seconds is { } s && s <= MaxWindowSeconds ? TimeSpan.FromSeconds(s) : null;
    }

    /// <summary>OpenAI's batch object.</summary>
    public static JsonObject ToJson(BatchRecord batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        static JsonNode? At(DateTimeOffset? at) => at is { } t ? JsonValue.Create(t.ToUnixTimeSeconds()) : null;
        return new JsonObject
        {
            ["id"] = batch.Id,
            ["object"] = "batch",
            ["endpoint"] = batch.Endpoint,
            ["errors"] = batch.Errors is null ? null : new JsonObject { ["object"] = "list", ["data"] = JsonNode.Parse(batch.Errors) },
            ["input_file_id"] = batch.InputFileId,
            ["completion_window"] = batch.CompletionWindow,
            ["status"] = batch.Status,
            ["output_file_id"] = batch.OutputFileId,
            ["error_file_id"] = batch.ErrorFileId,
            ["created_at"] = batch.CreatedAt.ToUnixTimeSeconds(),
            ["in_progress_at"] = At(batch.InProgressAt),
            ["expires_at"] = batch.ExpiresAt.ToUnixTimeSeconds(),
            ["finalizing_at"] = At(batch.FinalizingAt),
            ["completed_at"] = At(batch.CompletedAt),
            ["failed_at"] = At(batch.FailedAt),
            ["expired_at"] = At(batch.ExpiredAt),
            ["cancelling_at"] = At(batch.CancellingAt),
            ["cancelled_at"] = At(batch.CancelledAt),
            ["request_counts"] = new JsonObject { ["total"] = batch.Total, ["completed"] = batch.Completed, ["failed"] = batch.Failed },
            ["metadata"] = batch.Metadata is null ? null : JsonNode.Parse(batch.Metadata),
        };
    }
}
