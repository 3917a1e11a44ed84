using Broker.Config.Model;
using Microsoft.Extensions.Logging;

namespace Broker.Billing.Callbacks;

/// <summary>The integrations configured for this process, built once from config.yaml and the environment.</summary>
public sealed class CallbackSinks : IDisposable
{
    public CallbackSinks(
        ProxyConfig config, ConfigEnvironment env, CallbackOptions options, IEnumerable<CallbackSinkRegistration> registrations,
        IHttpClientFactory httpClients, TimeProvider timeProvider, ILogger<CallbackSinks> logger)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(env);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(registrations);
        var named = options.Success.Concat(options.Failure).ToHashSet(StringComparer.Ordinal);
        var sinks = new List<ICallbackSink>();
        var context = new CallbackSinkContext(config, env, httpClients, timeProvider);
        var declared = config.CallbackSettings.Where(c => IsGenericApi(c.Value)).Select(c => CallbackNames.Normalize(c.Key))
            .ToHashSet(StringComparer.Ordinal);

        // a callback_settings entry of the same name (generic, generic_api) is built from its settings below instead
        foreach (var registration in registrations.Where(r => named.Contains(r.Name) && !declared.Contains(r.Name)))
        {
            if (registration.Create(context) is { } sink)
            {
                sinks.Add(sink);
            }
            else
            {
                Log.CallbackNotConfigured(logger, registration.Name, registration.Needs);
            }
        }

        // callback_settings: {name: {callback_type: generic_api, endpoint, headers, event_types, log_format}}
        foreach (var (name, values) in config.CallbackSettings)
        {
            var key = CallbackNames.Normalize(name);
            if (!named.Contains(key) || !IsGenericApi(values) ||
                (CallbackNames.Known.TryGetValue(key, out var kind) && kind == CallbackKind.Delivered && !(key is "generic" or "generic_api")))
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

    private static bool IsGenericApi(IReadOnlyDictionary<string, object?> values) =>
        string.Equals(values.TryGetValue("callback_type", out var type) ? type as string : null, "generic_api", StringComparison.OrdinalIgnoreCase);

    public void Dispose()
    {
        foreach (var sink in All.OfType<IDisposable>())
        {
            sink.Dispose();
        }
    }
}
