using System.Text.Json.Nodes;
using Broker.Config;
using Broker.Ingress.Auth;
using Broker.Ingress.Caching;
using Broker.Ingress.Errors;
using Broker.Ingress.Http;
using Broker.Ingress.Idempotency;
using Broker.Ingress.Inference;
using Broker.Ingress.Streaming;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Broker.Ingress.Features.ChatCompletions;

public static class ChatCompletionsEndpoints
{
    public static RouteGroupBuilder MapChatCompletions(this RouteGroupBuilder group)
    {
        ArgumentNullException.ThrowIfNull(group);
        group.MapPost("/chat/completions", CreateChatCompletion).AllowAnyKey().Idempotent();
        return group;
    }

    private static async Task<IResult> CreateChatCompletion(
        HttpContext http, IProxyConfigProvider config, GroupBalancer balancer, InferenceClient inference, CachedInference cached, IngressOptions options, TimeProvider timeProvider)
    {
        var cancellationToken = http.RequestAborted;
        var (body, text, readError) = await JsonBodyReader.ReadAsync(http, config);
        if (readError is not null)
        {
            return readError;
        }

        if (ChatCompletionRequestValidator.Validate(body!) is { } invalid)
        {
            return invalid;
        }

        var model = body!["model"]!.GetValue<string>();
        var group = balancer.Resolve(config.Current, model);
        if (group is null)
        {
            return OpenAiErrorResult.ModelNotFound(model);
        }

        if (body["stream"] is JsonValue stream && stream.GetValue<bool>())
        {
            var includeUsage = body["stream_options"] is JsonObject streamOptions && streamOptions["include_usage"] is JsonValue u && u.TryGetValue<bool>(out var b) && b;
            var (chunks, record) = await cached.StreamAsync(http, CacheCallType.Chat, group, model, body, body, cancellationToken);
            return await SseStreamResult.WriteAsync(http, chunks, record(new OpenAiChatSseFormat(includeUsage)), inference, options, timeProvider);
        }

        var outcome = await cached.CompleteAsync(http, CacheCallType.Chat, group, model, body, body, text, cancellationToken);
        if (outcome.Error is { } error)
        {
            foreach (var (name, value) in outcome.Headers)
            {
                http.Response.Headers[name] = value;
            }

            return error;
        }

        return new JsonTextResult(outcome.Body!, outcome.Headers);
    }
}
