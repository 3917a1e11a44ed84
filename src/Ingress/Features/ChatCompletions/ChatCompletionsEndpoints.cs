using System.Globalization;
using System.Text.Json.Nodes;
using Broker.Config;
using Broker.Contracts.Inference;
using Broker.Ingress.Errors;
using Broker.Ingress.Http;
using Broker.Ingress.Inference;
using Broker.Ingress.Streaming;
using MassTransit;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Broker.Ingress.Features.ChatCompletions;

public static class ChatCompletionsEndpoints
{
    public static RouteGroupBuilder MapChatCompletions(this RouteGroupBuilder group)
    {
        ArgumentNullException.ThrowIfNull(group);
        group.MapPost("/chat/completions", CreateChatCompletion);
        return group;
    }

    private static async Task<IResult> CreateChatCompletion(
        HttpContext http, IProxyConfigProvider config, InferenceClient inference, TimeProvider timeProvider)
    {
        var cancellationToken = http.RequestAborted;
        var maxBytes = (long)(config.Current.GeneralSettings.MaxRequestSizeMb * 1024 * 1024);
        var (body, text, readError) = await JsonBodyReader.ReadAsync(http.Request, maxBytes, cancellationToken);
        if (readError is not null)
        {
            return readError;
        }

        if (ChatCompletionRequestValidator.Validate(body!) is { } invalid)
        {
            return invalid;
        }

        var model = body!["model"]!.GetValue<string>();
        var group = config.Current.FindGroup(model);
        if (group is null)
        {
            return OpenAiErrorResult.ModelNotFound(model);
        }

        var started = timeProvider.GetTimestamp();
        var timeout = inference.Timeout;
        Response<ChatCompletionSucceeded, ChatCompletionFailed> response;
        try
        {
            response = await inference.CreateChatCompletionAsync(group, model, text, null, timeout, cancellationToken);
        }
        catch (RequestTimeoutException)
        {
            return OpenAiErrorResult.Timeout(timeout);
        }

        if (response.Is(out Response<ChatCompletionFailed>? failedResponse))
        {
            var failed = failedResponse.Message;
            http.Response.Headers["x-broker-queue"] = failed.Queue ?? group.QueueName;
            return new OpenAiErrorResult(failed.StatusCode, failed.Message, failed.Type, failed.Param, failed.Code)
            {
                RetryAfterSeconds = failed.RetryAfterSeconds,
            };
        }

        if (!response.Is(out Response<ChatCompletionSucceeded>? succeededResponse))
        {
            throw new InvalidOperationException("The worker's reply was neither success nor failure");
        }

        var succeeded = succeededResponse.Message;
        var headers = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["x-litellm-model-id"] = succeeded.DeploymentId,
            ["x-litellm-model-group"] = succeeded.ModelGroup,
            ["x-litellm-call-id"] = succeeded.RequestId.ToString(),
            ["x-broker-queue"] = succeeded.Queue,
            ["x-litellm-response-duration-ms"] = timeProvider.GetElapsedTime(started).TotalMilliseconds.ToString("0.###", CultureInfo.InvariantCulture),
        };
        if (body["stream"] is JsonValue stream && stream.GetValue<bool>())
        {
            foreach (var (name, value) in headers)
            {
                http.Response.Headers[name] = value;
            }

            var includeUsage = body["stream_options"]?["include_usage"] is JsonValue u && u.TryGetValue<bool>(out var b) && b;
            await CompletionAsStream.WriteAsync(http.Response, JsonNode.Parse(succeeded.Body)!.AsObject(), includeUsage, cancellationToken);
            return Results.Empty;
        }

        return new JsonTextResult(succeeded.Body, headers);
    }
}
