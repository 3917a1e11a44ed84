using System.Net;
using Broker.Config;
using Broker.Contracts.Usage;
using Broker.Ingress.Auth;
using Broker.Ingress.Errors;
using MassTransit;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Yarp.ReverseProxy.Forwarder;

namespace Broker.Ingress.PassThrough;

/// <summary>
/// Forwards one pass-through call with YARP's <see cref="IHttpForwarder"/>: any method, bodies streamed both ways
/// without buffering (SSE included), a bounded connect and activity time. A target that cannot be reached is answered
/// 502 (504 when it went silent) in OpenAI's error shape. Every forwarded call publishes a <see cref="UsageRecorded"/>
/// (model group = the configured path, deployment = the route called, provider <c>pass_through</c>, cost =
/// <c>cost_per_request</c> when the target answered below 400), which Billing turns into a spend row.
/// </summary>
public sealed class PassThroughForwarder : IDisposable
{
    public const string Provider = "pass_through";

    private readonly IHttpForwarder _forwarder;
    private readonly IBus _bus;
    private readonly TimeProvider _time;
    private readonly ILogger<PassThroughForwarder> _logger;
    private readonly HttpMessageInvoker _client;
    private readonly ForwarderRequestConfig _requestConfig;

    public PassThroughForwarder(
        IHttpForwarder forwarder, IBus bus, IProxyConfigProvider config, PassThroughOptions options, TimeProvider time, ILogger<PassThroughForwarder> logger)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(options);
        _forwarder = forwarder;
        _bus = bus;
        _time = time;
        _logger = logger;
        // YARP's recommended client: no proxy, redirects, decompression or cookies of its own; the body goes as it came
        _client = new HttpMessageInvoker(new SocketsHttpHandler
        {
            UseProxy = false,
            AllowAutoRedirect = false,
            AutomaticDecompression = DecompressionMethods.None,
            UseCookies = false,
            ConnectTimeout = TimeSpan.FromSeconds(Math.Max(0.1, options.ConnectTimeoutSeconds)),
            EnableMultipleHttp2Connections = true,
        });
        var current = config.Current;
        var activity = options.ActivityTimeoutSeconds is { } seconds && seconds > 0
            ? TimeSpan.FromSeconds(seconds)
            : current.RouterSettings.Timeout ?? current.LitellmSettings.RequestTimeout ?? TimeSpan.FromSeconds(600);
        _requestConfig = new ForwarderRequestConfig { ActivityTimeout = activity };
    }

    public TimeSpan ActivityTimeout => _requestConfig.ActivityTimeout!.Value;

    internal async Task<IResult> ForwardAsync(HttpContext http, PassThroughTransformer transformer)
    {
        ArgumentNullException.ThrowIfNull(http);
        ArgumentNullException.ThrowIfNull(transformer);
        var endpoint = transformer.Endpoint;
        var requestId = Guid.NewGuid();
        http.Response.Headers["x-litellm-call-id"] = requestId.ToString();
        var started = _time.GetTimestamp();
        var prefix = endpoint.Target.GetLeftPart(UriPartial.Authority);
        var error = await _forwarder.SendAsync(http, prefix, _client, _requestConfig, transformer);

        var status = http.Response.StatusCode;
        string? errorClass = null;
        IResult result = Results.Empty;
        if (error != ForwarderError.None)
        {
            var reason = http.Features.Get<IForwarderErrorFeature>()?.Exception?.Message ?? error.ToString();
            Log.ForwardFailed(_logger, endpoint.Path, endpoint.Target.Host, error.ToString(), reason);
            errorClass = error switch
            {
                ForwarderError.RequestTimedOut => "timeout",
                ForwarderError.RequestCanceled or ForwarderError.RequestBodyCanceled or ForwarderError.ResponseBodyCanceled
                    or ForwarderError.RequestBodyClient or ForwarderError.ResponseBodyClient => "client_disconnected",
                _ => "upstream_unavailable",
            };
            if (!http.Response.HasStarted)
            {
                var refusal = error == ForwarderError.RequestTimedOut
                    ? new OpenAiErrorResult(StatusCodes.Status504GatewayTimeout,
                        $"Pass-through target {endpoint.Target.Host} did not answer within {ActivityTimeout.TotalSeconds:0.#}s", "timeout", null, "timeout")
                    : new OpenAiErrorResult(StatusCodes.Status502BadGateway,
                        $"Pass-through target {endpoint.Target.Host} could not be reached: {reason}", "api_error", null, "upstream_unavailable");
                status = refusal.StatusCode;
                result = refusal;
            }
        }
        else if (status >= 400)
        {
            errorClass = $"upstream_{status}";
        }

        Record(http, transformer, requestId, started, errorClass);
        return result;
    }

    private void Record(HttpContext http, PassThroughTransformer transformer, Guid requestId, long started, string? errorClass)
    {
        var endpoint = transformer.Endpoint;
        var succeeded = errorClass is null;
        var message = new UsageRecorded
        {
            RequestId = requestId,
            ModelGroup = endpoint.Path,
            DeploymentId = http.Request.Path.Value ?? endpoint.Path,
            Provider = Provider,
            PromptTokens = 0,
            CompletionTokens = 0,
            LatencyMs = _time.GetElapsedTime(started).TotalMilliseconds,
            TimeToFirstTokenMs = PassThroughTransformer.FirstByteAt(http) is { } first ? _time.GetElapsedTime(started, first).TotalMilliseconds : null,
            Succeeded = succeeded,
            ErrorClass = errorClass,
            CompletedAt = _time.GetUtcNow(),
            Caller = http.GetCaller(),
            Cost = succeeded ? endpoint.CostPerRequest ?? 0m : 0m,
        };
        _ = PublishAsync(message);
    }

    private async Task PublishAsync(UsageRecorded message)
    {
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30), _time);
            await _bus.Publish(message, timeout.Token);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            Log.UsageNotPublished(_logger, message.RequestId, ex.GetType().Name + ": " + ex.Message);
        }
    }

    public void Dispose() => _client.Dispose();
}
