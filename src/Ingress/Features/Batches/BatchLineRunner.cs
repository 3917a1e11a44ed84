using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Broker.Config;
using Broker.Config.Model;
using Broker.Contracts.Identity;
using Broker.Contracts.Inference;
using Broker.Ingress.Auth;
using Broker.Ingress.Features.Completions;
using Broker.Ingress.Features.Messages;
using Broker.Ingress.Features.Responses;
using Broker.Ingress.Inference;

namespace Broker.Ingress.Features.Batches;

/// <summary>
/// Runs one batch line through its model group's queue, exactly as a live request of its endpoint (so retries,
/// fallbacks, cooldowns and spend apply), billed to the submitting caller, and builds its output line in OpenAI's
/// format: <c>{"id","custom_id","response":{"status_code","request_id","body"},"error"}</c>.
/// </summary>
public sealed class BatchLineRunner(InferenceClient inference, Budgets budgets, ModelAuthorizer models, IProxyConfigProvider config, TimeProvider timeProvider)
{
    /// <summary>The status <see cref="RunAsync"/> gives a line no worker answered within the timeout.</summary>
    public const string NoAnswer = "no_answer";

    /// <summary>How long one line waits for its answer (the request timeout).</summary>
    public TimeSpan Timeout => inference.Timeout;

    public async Task<(string Status, string Result)> RunAsync(ClaimedLine line, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(line);
        var current = config.Current;
        var group = current.ModelGroups.FirstOrDefault(g => g.Name == line.ModelGroup) ?? current.FindGroup(line.RequestedModel);
        if (group is null)
        {
            return (BatchLineStatus.Failed, Output(line, 404, ErrorBody(
                $"The model `{line.RequestedModel}` does not exist or you do not have access to it.", "invalid_request_error", "model", "model_not_found")));
        }

        var caller = line.Caller is null ? null : JsonSerializer.Deserialize<Caller>(line.Caller);
        var timeout = inference.Timeout;
        // budgets hold per line: a key whose budget the batch itself (or anything else) spent gets its later lines refused
        if (await budgets.CallerRefusalAsync(caller, cancellationToken) is { } refused)
        {
            return Refused(line, refused, timeout);
        }

        // the submitter's models as they are now: the line's model, then its fallbacks (outside ones are skipped)
        var body = JsonNode.Parse(line.Body)!.AsObject();
        var (scope, outOfScope) = await models.ScopeOfAsync(caller, cancellationToken);
        if ((outOfScope ?? models.Authorize(current, scope!, body, line.RequestedModel).Refused) is { } denied)
        {
            return Refused(line, denied, timeout);
        }

        body.Remove("stream");
        body.Remove("stream_options");
        switch (line.Endpoint)
        {
            case BatchEndpoints.Embeddings:
            {
                var reply = await inference.RunAsync(group.QueueName, new CreateEmbedding
                {
                    RequestId = line.RequestId,
                    ModelGroup = group.Name,
                    RequestedModel = line.RequestedModel,
                    Body = body.ToJsonString(),
                    Deadline = timeProvider.GetUtcNow() + timeout,
                    Caller = caller,
                }, line.RequestId, timeout, cancellationToken);
                return reply is EmbeddingSucceeded ok ? (BatchLineStatus.Done, Output(line, 200, ok.Body)) : Failure(line, reply, timeout);
            }

            case BatchEndpoints.Responses:
            {
                var (chat, _) = ResponsesRequestTranslator.Translate(body);
                chat!.Remove("stream");
                var reply = await ChatAsync(group, line, line.RequestId, chat, caller, timeout, cancellationToken);
                if (reply is not ChatCompletionSucceeded ok)
                {
                    return Failure(line, reply, timeout);
                }

                var response = ResponseObject.FromChatCompletion(
                    body, JsonNode.Parse(ok.Body)!.AsObject(), ResponseObject.NewId("resp"), timeProvider.GetUtcNow().ToUnixTimeSeconds());
                return (BatchLineStatus.Done, Output(line, 200, response.ToJsonString()));
            }

            case BatchEndpoints.Messages:
                return await MessageAsync(group, line, body, caller, timeout, cancellationToken);

            case BatchEndpoints.Completions:
            {
                var (chats, _) = CompletionRequestTranslator.Translate(body);
                var completions = new List<JsonObject>();
                for (var i = 0; i < chats!.Count; i++)
                {
                    chats[i].Remove("stream");
                    var requestId = i == 0 ? line.RequestId : Guid.NewGuid();
                    var reply = await ChatAsync(group, line, requestId, chats[i], caller, timeout, cancellationToken);
                    if (reply is not ChatCompletionSucceeded ok)
                    {
                        return Failure(line, reply, timeout);
                    }

                    completions.Add(JsonNode.Parse(ok.Body)!.AsObject());
                }

                var completion = TextCompletionObject.FromChatCompletions(completions, TextCompletionObject.NewId(), timeProvider.GetUtcNow().ToUnixTimeSeconds());
                return (BatchLineStatus.Done, Output(line, 200, completion.ToJsonString()));
            }

            default:
            {
                var reply = await ChatAsync(group, line, line.RequestId, body, caller, timeout, cancellationToken);
                return reply is ChatCompletionSucceeded ok ? (BatchLineStatus.Done, Output(line, 200, ok.Body)) : Failure(line, reply, timeout);
            }
        }
    }

    /// <summary>A line refused before it ran (budget, models), with the refusal's status and error in the output.</summary>
    private static (string, string) Refused(ClaimedLine line, Errors.OpenAiErrorResult refused, TimeSpan timeout)
    {
        var failed = new InferenceFailed
        {
            RequestId = line.RequestId,
            StatusCode = refused.StatusCode,
            ErrorClass = ProviderErrorClass.BadRequest,
            Message = refused.Error.Error.Message,
            Type = refused.Error.Error.Type,
            Code = refused.Error.Error.Code,
        };
        return line.Endpoint == BatchEndpoints.Messages ? AnthropicFailure(line, failed, timeout) : Failure(line, failed, timeout);
    }

    /// <summary>An Anthropic Messages line: passed through to a group of Anthropic deployments, else translated; an Anthropic result line.</summary>
    private async Task<(string, string)> MessageAsync(
        ModelGroup group, ClaimedLine line, JsonObject body, Caller? caller, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var passThrough = AnthropicPassThroughRule.Applies(config.Current, group, body);
        var request = passThrough ? body : AnthropicMessagesTranslator.ToOpenAiRequest(body);
        request.Remove("stream");
        var reply = await inference.RunAsync(group.QueueName, new CreateChatCompletion
        {
            RequestId = line.RequestId,
            ModelGroup = group.Name,
            RequestedModel = line.RequestedModel,
            Body = request.ToJsonString(),
            Deadline = timeProvider.GetUtcNow() + timeout,
            Caller = caller,
            Format = passThrough ? "anthropic" : null,
        }, line.RequestId, timeout, cancellationToken);
        switch (reply)
        {
            case ChatCompletionSucceeded ok:
                var answer = JsonNode.Parse(ok.Body)!.AsObject();
                var message = passThrough ? answer : AnthropicMessagesTranslator.ToAnthropicMessage(answer, line.RequestedModel);
                message["model"] = line.RequestedModel;
                return (BatchLineStatus.Done, new JsonObject
                {
                    ["custom_id"] = line.CustomId,
                    ["result"] = new JsonObject { ["type"] = "succeeded", ["message"] = message },
                }.ToJsonString());
            default:
                return AnthropicFailure(line, reply, timeout);
        }
    }

    /// <summary>An Anthropic <c>errored</c> result line for a failed line, or one no worker answered in time.</summary>
    private static (string, string) AnthropicFailure(ClaimedLine line, object? reply, TimeSpan timeout)
    {
        var (code, text) = reply is InferenceFailed failed
            ? (failed.StatusCode, failed.Message)
            : (504, string.Create(CultureInfo.InvariantCulture, $"Request timed out after {timeout.TotalSeconds:0.###}s waiting for a worker"));
        return (reply is null ? NoAnswer : BatchLineStatus.Failed, new JsonObject
        {
            ["custom_id"] = line.CustomId,
            ["result"] = new JsonObject
            {
                ["type"] = "errored",
                ["error"] = new JsonObject
                {
                    ["type"] = "error",
                    ["error"] = new JsonObject { ["type"] = AnthropicErrorResult.TypeFor(code), ["message"] = text },
                },
            },
        }.ToJsonString());
    }

    /// <summary>An Anthropic result line for a request that never ran: <c>canceled</c> or <c>expired</c>.</summary>
    public static string NotRunAnthropic(string customId, string type) => new JsonObject
    {
        ["custom_id"] = customId,
        ["result"] = new JsonObject { ["type"] = type },
    }.ToJsonString();

    private Task<object?> ChatAsync(
        ModelGroup group, ClaimedLine line, Guid requestId, JsonObject chat, Caller? caller, TimeSpan timeout, CancellationToken cancellationToken) =>
        inference.RunAsync(group.QueueName, new CreateChatCompletion
        {
            RequestId = requestId,
            ModelGroup = group.Name,
            RequestedModel = line.RequestedModel,
            Body = chat.ToJsonString(),
            Deadline = timeProvider.GetUtcNow() + timeout,
            Caller = caller,
        }, requestId, timeout, cancellationToken);

    private static (string, string) Failure(ClaimedLine line, object? reply, TimeSpan timeout) => reply switch
    {
        InferenceFailed failed => (BatchLineStatus.Failed, Output(line, failed.StatusCode, ErrorBody(failed.Message, failed.Type, failed.Param, failed.Code))),
        _ => (NoAnswer, Output(line, 504, ErrorBody(
            string.Create(CultureInfo.InvariantCulture, $"Request timed out after {timeout.TotalSeconds:0.###}s waiting for a worker"), "timeout", null, "timeout"))),
    };

    private static string ErrorBody(string message, string type, string? param, string? code) => new JsonObject
    {
        ["error"] = new JsonObject { ["message"] = message, ["type"] = type, ["param"] = param, ["code"] = code },
    }.ToJsonString();

    /// <summary>An output (or error) file line for a line that got an HTTP answer; <paramref name="body"/> is JSON text.</summary>
    public static string Output(ClaimedLine line, int statusCode, string body)
    {
        ArgumentNullException.ThrowIfNull(line);
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("id", "batch_req_" + line.RequestId.ToString("N"));
            json.WriteString("custom_id", line.CustomId);
            json.WriteStartObject("response");
            json.WriteNumber("status_code", statusCode);
            json.WriteString("request_id", line.RequestId.ToString());
            json.WritePropertyName("body");
            json.WriteRawValue(body, skipInputValidation: true);
            json.WriteEndObject();
            json.WriteNull("error");
            json.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
    }

    /// <summary>An error file line for a line that never ran (expired, cancelled).</summary>
    public static string NotRun(string customId, string code, string message) => new JsonObject
    {
        ["id"] = "batch_req_" + Guid.NewGuid().ToString("N"),
        ["custom_id"] = customId,
        ["response"] = null,
        ["error"] = new JsonObject { ["code"] = code, ["message"] = message },
    }.ToJsonString();
}
