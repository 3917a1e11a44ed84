using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Broker.ServiceDefaults.Observability;

/// <summary>
/// Broker's metrics, named after LiteLLM's Prometheus metrics so dashboards carry over. Exported on
/// <c>GET /metrics</c> (Prometheus text format) by processes that run the Ingress.
/// </summary>
public sealed class BrokerMetrics
{
    public const string MeterName = "Broker";

    private readonly Counter<long> _requests;
    private readonly Counter<long> _failedRequests;
    private readonly Histogram<double> _latency;
    private readonly Histogram<double> _timeToFirstToken;
    private readonly Counter<long> _inputTokens;
    private readonly Counter<long> _outputTokens;
    private readonly Counter<long> _totalTokens;
    private readonly Counter<long> _cacheHits;

    public BrokerMetrics(IMeterFactory meterFactory)
    {
        ArgumentNullException.ThrowIfNull(meterFactory);
        Meter = meterFactory.Create(MeterName);
        _requests = Meter.CreateCounter<long>("litellm_proxy_total_requests_metric", description: "Requests by model group, route and status");
        _failedRequests = Meter.CreateCounter<long>("litellm_proxy_failed_requests_metric", description: "Failed requests by model group, error class and status");
        _latency = Meter.CreateHistogram<double>("litellm_request_total_latency_metric", description: "Seconds from request to complete answer");
        _timeToFirstToken = Meter.CreateHistogram<double>("litellm_llm_api_time_to_first_token_metric", description: "Seconds to the first streamed token");
        _inputTokens = Meter.CreateCounter<long>("litellm_input_tokens", description: "Prompt tokens");
        _outputTokens = Meter.CreateCounter<long>("litellm_output_tokens", description: "Completion tokens");
        _totalTokens = Meter.CreateCounter<long>("litellm_total_tokens", description: "Prompt + completion tokens");
        _cacheHits = Meter.CreateCounter<long>("litellm_cache_hits_metric", description: "Requests answered from the response cache");
    }

    public Meter Meter { get; }

    /// <summary>One finished request (success or failure) as the client saw it.</summary>
    public void RequestFinished(string route, string modelGroup, string? deployment, int statusCode, TimeSpan elapsed, string? errorType = null)
    {
        var tags = new TagList
        {
            { "route", route },
            { "model_group", modelGroup },
            { "model_id", deployment ?? "" },
            { "status_code", statusCode },
        };
        _requests.Add(1, tags);
        if (statusCode >= 400)
        {
            _failedRequests.Add(1, new TagList { { "model_group", modelGroup }, { "exception_class", errorType ?? "" }, { "status_code", statusCode } });
        }
        else
        {
            _latency.Record(elapsed.TotalSeconds, new TagList { { "model_group", modelGroup }, { "model_id", deployment ?? "" } });
        }
    }

    public void Tokens(string modelGroup, string? deployment, int input, int output)
    {
        var tags = new TagList { { "model_group", modelGroup }, { "model_id", deployment ?? "" } };
        _inputTokens.Add(input, tags);
        _outputTokens.Add(output, tags);
        _totalTokens.Add(input + output, tags);
    }

    public void TimeToFirstToken(string modelGroup, string? deployment, TimeSpan elapsed) =>
        _timeToFirstToken.Record(elapsed.TotalSeconds, new TagList { { "model_group", modelGroup }, { "model_id", deployment ?? "" } });

    public void CacheHit(string modelGroup) => _cacheHits.Add(1, new TagList { { "model_group", modelGroup } });
}
