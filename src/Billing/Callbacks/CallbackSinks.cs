using Broker.Config.Model;
using Microsoft.Extensions.Logging;

namespace Broker.Billing.Callbacks;

/// <summary>The integrations configured for this process, built once from config.yaml and the environment.</summary>
public sealed class CallbackSinks : IDisposable
{
    private static readonly string[] GenericNames = ["generic", "generic_api"];

    private static readonly string[] Handled = ["langfuse", "datadog", "sentry", "openmeter", "generic", "generic_api"];

    public CallbackSinks(ProxyConfig config, ConfigEnvironment env, CallbackOptions options, IHttpClientFactory httpClients, TimeProvider timeProvider, ILogger<CallbackSinks> logger)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(env);
        ArgumentNullException.ThrowIfNull(options);
        var named = options.Success.Concat(options.Failure).ToHashSet(StringComparer.Ordinal);
        var sinks = new List<ICallbackSink>();
        var settings = config.LitellmSettings;

        if (named.Contains("langfuse"))
        {
            var publicKey = settings.LangfusePublicKey?.Value ?? env.Get("LANGFUSE_PUBLIC_KEY");
            var secretKey = settings.LangfuseSecretKey?.Value ?? env.Get("LANGFUSE_SECRET_KEY");
            if (publicKey is null || secretKey is null)
            {
                Log.CallbackNotConfigured(logger, "langfuse", "LANGFUSE_PUBLIC_KEY, LANGFUSE_SECRET_KEY");
            }
            else
            {
                sinks.Add(new LangfuseSink(env.Get("LANGFUSE_HOST") ?? "https://cloud.langfuse.com", publicKey, secretKey, httpClients, timeProvider));
            }
        }

        if (named.Contains("datadog"))
        {
            if (env.Get("DD_API_KEY") is not { } ddKey)
            {
                Log.CallbackNotConfigured(logger, "datadog", "DD_API_KEY");
            }
            else
            {
                sinks.Add(new DatadogSink(DatadogSink.BaseUrlOf(env.Get("DD_SITE")), ddKey, env.Get("DD_SOURCE") ?? "litellm",
                    env.Get("DD_SERVICE") ?? "litellm-server", env.Get("DD_ENV"), httpClients));
            }
        }

        if (named.Contains("sentry"))
        {
            if (env.Get("SENTRY_DSN") is not { } dsn)
            {
                Log.CallbackNotConfigured(logger, "sentry", "SENTRY_DSN");
            }
            else
            {
                sinks.Add(new SentrySink(dsn, env.Get("SENTRY_ENVIRONMENT")));
            }
        }

        if (named.Contains("openmeter"))
        {
            if (env.Get("OPENMETER_API_KEY") is not { } omKey)
            {
                Log.CallbackNotConfigured(logger, "openmeter", "OPENMETER_API_KEY");
            }
            else
            {
                sinks.Add(new OpenMeterSink(env.Get("OPENMETER_API_ENDPOINT") ?? "https://openmeter.cloud", omKey,
                    env.Get("OPENMETER_EVENT_TYPE") ?? "litellm_tokens", httpClients));
            }
        }

        foreach (var generic in GenericNames.Where(named.Contains))
        {
            if (config.CallbackSettings.ContainsKey(generic))
            {
                continue;
            }

            if (env.Get("GENERIC_LOGGER_ENDPOINT") is not { } endpoint)
            {
                Log.CallbackNotConfigured(logger, generic, "GENERIC_LOGGER_ENDPOINT");
            }
            else
            {
                sinks.Add(new GenericApiSink(generic, endpoint, GenericApiSink.ParseHeaders(env.Get("GENERIC_LOGGER_HEADERS")), true, true, "json_array", httpClients));
            }
        }

        // callback_settings: {name: {callback_type: generic_api, endpoint, headers, event_types, log_format}}
        foreach (var (name, values) in config.CallbackSettings)
        {
            var key = name.ToLowerInvariant();
            if (!named.Contains(key) || (Handled.Contains(key) && !(key is "generic" or "generic_api")) ||
                !string.Equals(values.TryGetValue("callback_type", out var type) ? type as string : null, "generic_api", StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }

            if ((values.TryGetValue("endpoint", out var ep) ? ep as string : null) is not { Length: > 0 } endpoint)
            {
                Log.CallbackNotConfigured(logger, name, $"callback_settings.{name}.endpoint");
                continue;
            }

            var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
            if (values.TryGetValue("headers", out var h) && h is IDictionary<string, object?> map)
            {
                foreach (var (header, value) in map)
                {
                    headers[header] = Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture) ?? "";
                }
            }

            var types = values.TryGetValue("event_types", out var t) && t is IEnumerable<object?> list
                ? list.Select(x => x?.ToString()).OfType<string>().ToList()
                : null;
            sinks.Add(new GenericApiSink(key, endpoint, headers,
                types is null || types.Contains("llm_api_success"), types is null || types.Contains("llm_api_failure"),
                (values.TryGetValue("log_format", out var f) ? f as string : null) ?? "json_array", httpClients));
        }

        All = sinks;
        if (sinks.Count > 0)
        {
            Log.CallbacksOn(logger, string.Join(", ", sinks.Select(s => s.Name)));
        }
    }

    public IReadOnlyList<ICallbackSink> All { get; }

    public void Dispose()
    {
        foreach (var sink in All.OfType<IDisposable>())
        {
            sink.Dispose();
        }
    }
}
