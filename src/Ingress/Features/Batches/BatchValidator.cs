using System.Collections.Concurrent;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Broker.Config;
using Broker.Contracts.Identity;
using Broker.Ingress.Auth;
using Broker.Ingress.Http;
using Broker.Ingress.Features.ChatCompletions;
using Broker.Ingress.Features.Completions;
using Broker.Ingress.Features.Embeddings;
using Broker.Ingress.Errors;
using Broker.Ingress.Features.Files;
using Broker.Ingress.Features.Messages;
using Broker.Ingress.Features.Responses;
using Broker.Ingress.Inference;
using Broker.ServiceDefaults.Database;
using Microsoft.Extensions.Logging;
using Npgsql;
using NpgsqlTypes;

namespace Broker.Ingress.Features.Batches;

/// <summary>
/// Validates a batch's input file line by line while copying the good lines into broker_batch_lines, all in one
/// transaction holding the batch's row lock: the batch becomes in_progress with every line, or failed with
/// line-numbered errors as OpenAI reports them and no line. The file is streamed; only the custom_ids are kept.
/// A process that dies meanwhile rolls back; another one validates the batch again.
/// </summary>
public sealed class BatchValidator(
    BatchStore store, IFileStore files, BrokerDatabase database, IProxyConfigProvider config, GroupBalancer balancer, ModelAuthorizer models,
    TimeProvider timeProvider, ILogger<BatchValidator> logger)
{
    /// <summary>OpenAI's limit of requests per batch.</summary>
    public const int MaxLines = 50_000;

    /// <summary>Errors listed at most (the file is still read to the end).</summary>
    public const int MaxErrors = 1000;

    /// <summary>Tries of a batch whose validation throws before it is marked failed.</summary>
    public const int MaxAttempts = 3;

    private readonly ConcurrentDictionary<string, int> _attempts = new(StringComparer.Ordinal);

    /// <summary>Validates the oldest batch waiting for it; false when none waits.</summary>
    public async Task<bool> ValidateNextAsync(CancellationToken cancellationToken)
    {
        if (database.Kind == DatabaseKind.Sqlite)
        {
            return await ValidateNextSqliteAsync(cancellationToken);
        }

        await using var connection = await store.DataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        string id, owner, endpoint, inputFileId;
        string? callerJson;
        await using (var select = new NpgsqlCommand(
            "SELECT id, owner, endpoint, input_file_id, caller::text FROM broker_batches WHERE status = 'validating' ORDER BY created_at LIMIT 1 FOR UPDATE SKIP LOCKED",
            connection, transaction))
        await using (var reader = await select.ExecuteReaderAsync(cancellationToken))
        {
            if (!await reader.ReadAsync(cancellationToken))
            {
                return false;
            }

            (id, owner, endpoint, inputFileId) = (reader.GetString(0), reader.GetString(1), reader.GetString(2), reader.GetString(3));
            callerJson = reader.IsDBNull(4) ? null : reader.GetString(4);
        }

        try
        {
            return await ValidateAsync(connection, transaction, id, owner, endpoint, inputFileId, callerJson, cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException && !DatabaseErrors.IsTransient(ex))
        {
            // something about this batch breaks validation itself: after a few tries it fails, so it never keeps the
            // batches behind it waiting (the oldest waiting batch is always taken first)
            var attempts = _attempts.AddOrUpdate(id, 1, (_, n) => n + 1);
            Log.BatchValidationError(logger, ex, id, attempts, MaxAttempts);
            if (attempts < MaxAttempts)
            {
                throw;
            }

            // give the row lock back first: the failure is recorded in a statement of its own
            await transaction.RollbackAsync(cancellationToken);
            await FailAsync(connection, id, [Error("validation_error",
                "The batch could not be validated: its input file could not be read as JSON lines. Check the file's encoding and lines, then create the batch again.",
                null, null)], cancellationToken);
            return true;
        }
    }

    private async Task<bool> ValidateAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string id, string owner, string endpoint,
        string inputFileId, string? callerJson, CancellationToken cancellationToken)
    {
        var errors = new JsonArray();
        var count = 0;
        // every line is held to the models of the key (and its user and team) that submitted the batch
        var (scope, refused) = await models.ScopeOfAsync(callerJson is null ? null : JsonSerializer.Deserialize<Caller>(callerJson), cancellationToken);
        if (refused is not null)
        {
            errors.Add(Error(refused.Error.Error.Code ?? "auth_error", refused.Error.Error.Message, null, null));
        }
        else if (await files.GetAsync(owner, inputFileId, cancellationToken) is null)
        {
            errors.Add(Error("invalid_file", $"The input file {inputFileId} does not exist any more.", null, null));
        }
        else
        {
            await using var importer = await connection.BeginBinaryImportAsync(
                "COPY broker_batch_lines (batch_id, line_no, custom_id, model_group, requested_model, body) FROM STDIN (FORMAT BINARY)", cancellationToken);
            count = await ReadLinesAsync(endpoint, inputFileId, scope!, async (lineNo, request) =>
            {
                await importer.StartRowAsync(cancellationToken);
                await importer.WriteAsync(id, NpgsqlDbType.Text, cancellationToken);
                await importer.WriteAsync(lineNo, NpgsqlDbType.Integer, cancellationToken);
                await importer.WriteAsync(request.CustomId, NpgsqlDbType.Text, cancellationToken);
                await importer.WriteAsync(request.ModelGroup, NpgsqlDbType.Text, cancellationToken);
                await importer.WriteAsync(PgText.Clean(request.Model)!, NpgsqlDbType.Text, cancellationToken);
                await importer.WriteAsync(PgText.Clean(request.Body)!, NpgsqlDbType.Text, cancellationToken);
            }, errors, cancellationToken);
            if (count == 0 && errors.Count == 0)
            {
                errors.Add(Error("empty_file", "The input file is empty: it has no request lines.", null, null));
            }

            if (errors.Count == 0)
            {
                await importer.CompleteAsync(cancellationToken);
            }
        }

        var now = timeProvider.GetUtcNow();
        if (errors.Count == 0)
        {
            await using var started = new NpgsqlCommand(
                "UPDATE broker_batches SET status = 'in_progress', in_progress_at = $2, total = $3 WHERE id = $1", connection, transaction);
            started.Parameters.Add(new() { Value = id });
            started.Parameters.Add(new() { Value = now });
            started.Parameters.Add(new() { Value = count });
            await started.ExecuteNonQueryAsync(cancellationToken);
            await transaction.CommitAsync(cancellationToken);
            _attempts.TryRemove(id, out _);
            Log.BatchStarted(logger, id, count);
            return true;
        }

        // the cancelled COPY aborted the transaction: record the failure in a fresh statement
        await transaction.RollbackAsync(cancellationToken);
        await FailAsync(connection, id, errors, cancellationToken);
        return true;
    }

    private async Task FailAsync(NpgsqlConnection connection, string id, JsonArray errors, CancellationToken cancellationToken)
    {
        await using var failed = new NpgsqlCommand(
            "UPDATE broker_batches SET status = 'failed', failed_at = $2, errors = $3::jsonb WHERE id = $1 AND status IN ('validating', 'cancelling')", connection);
        failed.Parameters.Add(new() { Value = id });
        failed.Parameters.Add(new() { Value = timeProvider.GetUtcNow() });
        failed.Parameters.Add(new() { Value = PgText.CleanJson(errors.ToJsonString()), NpgsqlDbType = NpgsqlDbType.Text });
        await failed.ExecuteNonQueryAsync(cancellationToken);
        _attempts.TryRemove(id, out _);
        Log.BatchFailedValidation(logger, id, errors.Count);
    }

    /// <summary>Reads and checks the file's lines; each good line goes to <paramref name="write"/> while no line has an error.</summary>
    private async Task<int> ReadLinesAsync(
        string endpoint, string fileId, ModelScope scope, Func<int, LineRequest, Task> write, JsonArray errors, CancellationToken cancellationToken)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        await using var content = await files.OpenReadAsync(fileId, cancellationToken);
        using var text = new StreamReader(content, Encoding.UTF8);
        var lineNo = 0;
        var count = 0;
        var moreErrors = 0;
        while (await text.ReadLineAsync(cancellationToken) is { } line)
        {
            lineNo++;
            if (string.IsNullOrWhiteSpace(line))
            {
                continue;
            }

            if (++count > MaxLines)
            {
                errors.Add(Error("too_many_requests", $"A batch may hold at most {MaxLines} requests.", null, lineNo));
                break;
            }

            var (request, error) = CheckLine(line, endpoint, scope, seen);
            if (error is not null)
            {
                if (errors.Count < MaxErrors)
                {
                    error["line"] = lineNo;
                    errors.Add(error);
                }
                else
                {
                    moreErrors++;
                }

                continue;
            }

            if (errors.Count == 0)
            {
                await write(lineNo, request!);
            }
        }

        if (moreErrors > 0)
        {
            errors.Add(Error("too_many_errors", $"{moreErrors} more lines have errors.", null, null));
        }

        return count;
    }

    /// <summary>
    /// The same validation on the embedded SQLite file. One process owns the file and one loop validates, so the oldest
    /// validating batch is taken without a row lock; its lines are written in one write transaction (lines left by a
    /// try that died are deleted first), committed with the in_progress status, or rolled back for a failed batch.
    /// </summary>
    private async Task<bool> ValidateNextSqliteAsync(CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenSqliteAsync(cancellationToken);
        string id, owner, endpoint, inputFileId;
        string? callerJson;
        await using (var select = SqliteBatchStore.Command(connection, null,
            "SELECT id, owner, endpoint, input_file_id, caller FROM broker_batches WHERE status = 'validating' ORDER BY created_at LIMIT 1"))
        await using (var reader = await select.ExecuteReaderAsync(cancellationToken))
        {
            if (!await reader.ReadAsync(cancellationToken))
            {
                return false;
            }

            (id, owner, endpoint, inputFileId) = (reader.GetString(0), reader.GetString(1), reader.GetString(2), reader.GetString(3));
            callerJson = reader.IsDBNull(4) ? null : reader.GetString(4);
        }

        try
        {
            var errors = new JsonArray();
            var (scope, refused) = await models.ScopeOfAsync(callerJson is null ? null : JsonSerializer.Deserialize<Caller>(callerJson), cancellationToken);
            if (refused is not null)
            {
                errors.Add(Error(refused.Error.Error.Code ?? "auth_error", refused.Error.Error.Message, null, null));
            }
            else if (await files.GetAsync(owner, inputFileId, cancellationToken) is null)
            {
                errors.Add(Error("invalid_file", $"The input file {inputFileId} does not exist any more.", null, null));
            }
            else
            {
                await using var transaction = connection.BeginTransaction(deferred: false);
                await using (var clear = SqliteBatchStore.Command(connection, transaction, "DELETE FROM broker_batch_lines WHERE batch_id = $p0", id))
                {
                    await clear.ExecuteNonQueryAsync(cancellationToken);
                }

                await using var insert = SqliteBatchStore.Command(connection, transaction,
                    "INSERT INTO broker_batch_lines (batch_id, line_no, custom_id, model_group, requested_model, body) VALUES ($p0, $p1, $p2, $p3, $p4, $p5)",
                    id, 0, "", "", "", "");
                var count = await ReadLinesAsync(endpoint, inputFileId, scope!, async (lineNo, request) =>
                {
                    insert.Parameters["$p1"].Value = lineNo;
                    insert.Parameters["$p2"].Value = request.CustomId;
                    insert.Parameters["$p3"].Value = request.ModelGroup;
                    insert.Parameters["$p4"].Value = PgText.Clean(request.Model);
                    insert.Parameters["$p5"].Value = PgText.Clean(request.Body);
                    await insert.ExecuteNonQueryAsync(cancellationToken);
                }, errors, cancellationToken);
                if (count == 0 && errors.Count == 0)
                {
                    errors.Add(Error("empty_file", "The input file is empty: it has no request lines.", null, null));
                }

                if (errors.Count == 0)
                {
                    await using var started = SqliteBatchStore.Command(connection, transaction,
                        "UPDATE broker_batches SET status = 'in_progress', in_progress_at = $p1, total = $p2 WHERE id = $p0",
                        id, SqliteValues.Time(timeProvider.GetUtcNow()), count);
                    await started.ExecuteNonQueryAsync(cancellationToken);
                    await transaction.CommitAsync(cancellationToken);
                    _attempts.TryRemove(id, out _);
                    Log.BatchStarted(logger, id, count);
                    return true;
                }

                await transaction.RollbackAsync(cancellationToken);
            }

            await FailSqliteAsync(connection, id, errors, cancellationToken);
            return true;
        }
        catch (Exception ex) when (ex is not OperationCanceledException && !DatabaseErrors.IsTransient(ex))
        {
            var attempts = _attempts.AddOrUpdate(id, 1, (_, n) => n + 1);
            Log.BatchValidationError(logger, ex, id, attempts, MaxAttempts);
            if (attempts < MaxAttempts)
            {
                throw;
            }

            await FailSqliteAsync(connection, id, [Error("validation_error",
                "The batch could not be validated: its input file could not be read as JSON lines. Check the file's encoding and lines, then create the batch again.",
                null, null)], cancellationToken);
            return true;
        }
    }

    private async Task FailSqliteAsync(Microsoft.Data.Sqlite.SqliteConnection connection, string id, JsonArray errors, CancellationToken cancellationToken)
    {
        await using var failed = SqliteBatchStore.Command(connection, null,
            "UPDATE broker_batches SET status = 'failed', failed_at = $p1, errors = $p2 WHERE id = $p0 AND status IN ('validating', 'cancelling')",
            id, SqliteValues.Time(timeProvider.GetUtcNow()), PgText.CleanJson(errors.ToJsonString()));
        await failed.ExecuteNonQueryAsync(cancellationToken);
        _attempts.TryRemove(id, out _);
        Log.BatchFailedValidation(logger, id, errors.Count);
    }

    private sealed record LineRequest(string CustomId, string ModelGroup, string Model, string Body);

    /// <summary>A line that cannot be read (duplicate keys, text that is not valid Unicode) is that line's error, never the batch's exception.</summary>
    private (LineRequest? Request, JsonObject? Error) CheckLine(string line, string endpoint, ModelScope scope, HashSet<string> seen)
    {
        try
        {
            return Check(line, endpoint, scope, seen);
        }
        catch (Exception ex) when (ex is JsonException or ArgumentException or InvalidOperationException or FormatException)
        {
            return (null, Error("invalid_json_line",
                "This line is not parseable as valid JSON: duplicate keys or text that is not valid Unicode (a lone surrogate or NUL where text is stored).",
                null, null));
        }
    }

    private (LineRequest? Request, JsonObject? Error) Check(string line, string endpoint, ModelScope scope, HashSet<string> seen)
    {
        JsonObject? node;
        // the same strict reading as a live request's body: a line the worker could not send (a lone surrogate
        // anywhere, duplicate keys, deep nesting) is this line's error, not a request that faults later
        (node, _, var parseError) = JsonBodyReader.Parse(System.Text.Encoding.UTF8.GetBytes(line));
        if (node is null)
        {
            var reason = parseError?.Error.Error.Message is { } message ? " " + message : "";
            return (null, Error("invalid_json_line", "This line is not parseable as valid JSON." + reason, null, null));
        }

        if (node["custom_id"] is not JsonValue id || id.GetValueKind() != JsonValueKind.String || id.GetValue<string>().Length == 0)
        {
            return (null, Error("missing_required_parameter", "Missing required parameter: 'custom_id'.", "custom_id", null));
        }

        var customId = id.GetValue<string>();
        if (!PgText.IsClean(customId))
        {
            return (null, Error("invalid_value", "The custom_id must be text without NUL or unpaired surrogate characters.", "custom_id", null));
        }
        if (node["method"] is not JsonValue method || method.GetValueKind() != JsonValueKind.String || method.GetValue<string>() != "POST")
        {
            return (null, Error("invalid_request", "The 'method' of a batch request must be POST.", "method", null));
        }

        if (node["url"] is not JsonValue url || url.GetValueKind() != JsonValueKind.String || url.GetValue<string>() != endpoint)
        {
            return (null, Error("mismatched_endpoint", $"The URL provided for this request does not match the batch endpoint {endpoint}.", "url", null));
        }

        if (node["body"] is not JsonObject body)
        {
            return (null, Error("missing_required_parameter", "Missing required parameter: 'body'.", "body", null));
        }

        var invalid = endpoint switch
        {
            BatchEndpoints.Embeddings => Describe(EmbeddingsEndpoints.Validate(body)),
            BatchEndpoints.Completions => Describe(CompletionRequestTranslator.Translate(body).Error),
            BatchEndpoints.Responses => Describe(ResponsesRequestTranslator.Translate(body).Error),
            BatchEndpoints.Messages => MessagesRequestValidator.Validate(body, requireMaxTokens: true) is { } e ? ("invalid_request", e.Message, null) : null,
            _ => Describe(ChatCompletionRequestValidator.Validate(body)),
        };
        if (invalid is { } problem)
        {
            return (null, Error(problem.Code, problem.Message, problem.Param is null ? "body" : "body." + problem.Param, null));
        }

        if (body["model"] is not JsonValue m || m.GetValueKind() != JsonValueKind.String)
        {
            return (null, Error("missing_required_parameter", "Missing required parameter: 'body.model'.", "body.model", null));
        }

        // a line that asks for guardrails would run without them (lines run later, outside a request): refused, never skipped
        if (body["guardrails"] is not null || (body["metadata"] is JsonObject lineMetadata && lineMetadata["guardrails"] is not null))
        {
            return (null, Error("guardrail_not_applicable",
                "Guardrails do not run on batch lines; send requests that need guardrails to the live endpoint.", "body.guardrails", null));
        }

        // reject_clientside_metadata_tags holds for batch lines as for live requests of a key (tags route, and bill)
        if (config.Current.GeneralSettings.RejectClientsideMetadataTags && scope.Key is not null && RequestTags.ClientSide(body) is { } tagsAt)
        {
            var refused = AuthErrors.ClientTagsRejected(tagsAt).Error.Error;
            return (null, Error(refused.Type, refused.Message, "body." + tagsAt, null));
        }

        var model = m.GetValue<string>();
        if (balancer.Resolve(config.Current, model) is not { } group)
        {
            return (null, Error("model_not_found", $"The model `{model}` does not exist or you do not have access to it.", "body.model", null));
        }

        if (scope.Refusal(config.Current, model) is { } denied)
        {
            return (null, Error(denied.Error.Error.Type, denied.Error.Error.Message, "body.model", null));
        }

        if (!seen.Add(customId))
        {
            return (null, Error("duplicate_custom_id",
                "The custom_id for this request is a duplicate of another request. The custom_id parameter must be unique for each request in a batch.",
                "custom_id", null));
        }

        return (new LineRequest(customId, group.Name, model, body.ToJsonString()), null);
    }

    private static (string Code, string Message, string? Param)? Describe(OpenAiErrorResult? error) =>
        error?.Error.Error is { } e ? (e.Code ?? "invalid_request", e.Message, e.Param) : null;

    private static JsonObject Error(string code, string message, string? param, int? line) => new()
    {
        ["code"] = code,
        ["message"] = message,
        ["param"] = param,
        ["line"] = line,
    };
}
