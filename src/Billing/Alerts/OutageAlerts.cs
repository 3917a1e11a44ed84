using System.Globalization;
using System.Text.Json;
using Broker.Config;
using Broker.Contracts.Alerts;
using Broker.Contracts.Inference;
using Broker.Contracts.Usage;

namespace Broker.Billing.Alerts;

/// <summary>
/// LiteLLM's <c>outage_alerts</c> and <c>region_outage_alerts</c>: calls failing with a timeout or a server error (a 400
/// does not count) are counted per deployment within <c>outage_alert_ttl</c>, and per <c>region_name</c> within
/// <c>region_outage_alert_ttl</c> (a region needs errors from two or more of its deployments). The count reaching
/// <c>minor_outage_alert_threshold</c> raises a minor outage, <c>major_outage_alert_threshold</c> a major one, each once
/// per window. Counted in this Billing process (each Billing instance counts the usage events it consumes).
/// </summary>
public sealed class OutageAlerts(AlertingOptions options, IProxyConfigProvider config, TimeProvider timeProvider)
{
    public const int DefaultMinorThreshold = 5;

    public const int DefaultMajorThreshold = 10;

    private static readonly TimeSpan DefaultWindow = TimeSpan.FromSeconds(60);

    private readonly Dictionary<string, Window> _windows = new(StringComparer.Ordinal);
    private readonly Lock _lock = new();

    /// <summary>The outage alerts this finished call raises (none for a success, a cache hit or a client error).</summary>
    public IReadOnlyList<AlertRaised> Observe(UsageRecorded usage)
    {
        ArgumentNullException.ThrowIfNull(usage);
        if (usage.Succeeded || usage.CacheHit || !CountsAsOutage(usage.ErrorClass))
        {
            return [];
        }

        var args = config.Current.GeneralSettings.AlertingArgs;
        var minor = args?.MinorOutageAlertThreshold ?? DefaultMinorThreshold;
        var major = Math.Max(minor, args?.MajorOutageAlertThreshold ?? DefaultMajorThreshold);
        var now = timeProvider.GetUtcNow();
        var alerts = new List<AlertRaised>();
        if (options.IsOn(AlertKinds.OutageAlerts))
        {
            var (count, start, _) = Count($"deployment:{usage.DeploymentId}", usage.DeploymentId, args?.OutageAlertTtl ?? DefaultWindow, now);
            if (Severity(count, minor, major) is { } severity)
            {
                alerts.Add(Alert(AlertKinds.OutageAlerts, $"{usage.DeploymentId}:{start.Ticks}:{severity}", severity, now,
                    $"{Title(severity)} outage: deployment `{usage.DeploymentId}` of `{usage.ModelGroup}` ({usage.Provider}) failed {count} times in {Seconds(args?.OutageAlertTtl ?? DefaultWindow)} (last: {usage.ErrorClass})",
                    Data(usage, count, severity)));
            }
        }

        if (options.IsOn(AlertKinds.RegionOutageAlerts) && RegionOf(usage.DeploymentId) is { } region)
        {
            var (count, start, deployments) = Count($"region:{region}", usage.DeploymentId, args?.RegionOutageAlertTtl ?? DefaultWindow, now);
            if (deployments >= 2 && Severity(count, minor, major) is { } severity)
            {
                var data = Data(usage, count, severity);
                data["region_name"] = region;
                data["deployments"] = deployments.ToString(CultureInfo.InvariantCulture);
                alerts.Add(Alert(AlertKinds.RegionOutageAlerts, $"{region}:{start.Ticks}:{severity}", severity, now,
                    $"{Title(severity)} region outage: {count} failures from {deployments} deployments in region `{region}` in {Seconds(args?.RegionOutageAlertTtl ?? DefaultWindow)} (last: `{usage.DeploymentId}`, {usage.ErrorClass})",
                    data));
            }
        }

        return alerts;
    }

    /// <summary>Timeouts and server errors: the provider is down, not the request wrong.</summary>
    public static bool CountsAsOutage(string? errorClass) =>
        errorClass is nameof(ProviderErrorClass.Timeout) or nameof(ProviderErrorClass.InternalServerError);

    /// <summary>A deployment's region_name (from its litellm_params), or null.</summary>
    private string? RegionOf(string deploymentId)
    {
        var deployment = config.Current.ModelList.FirstOrDefault(d => d.Id == deploymentId);
        return deployment is not null && deployment.DefaultParams.TryGetValue("region_name", out var region) &&
            region.ValueKind == JsonValueKind.String && region.GetString() is { Length: > 0 } name
            ? name
            : null;
    }

    /// <summary>Adds one error to the key's window (a new window once the old one has run out): count, start, distinct deployments.</summary>
    private (int Count, DateTimeOffset Start, int Deployments) Count(string key, string deploymentId, TimeSpan ttl, DateTimeOffset now)
    {
        lock (_lock)
        {
            if (!_windows.TryGetValue(key, out var window) || now - window.Start > ttl)
            {
                window = new Window(now);
                _windows[key] = window;
                // forget windows long gone, so the table stays small
                foreach (var stale in _windows.Where(w => now - w.Value.Start > TimeSpan.FromHours(1)).Select(w => w.Key).ToList())
                {
                    _windows.Remove(stale);
                }
            }

            window.Count++;
            window.Deployments.Add(deploymentId);
            return (window.Count, window.Start, window.Deployments.Count);
        }
    }

    private static string? Severity(int count, int minor, int major) => count == major ? "major" : count == minor ? "minor" : null;

    private static string Title(string severity) => severity == "major" ? "Major" : "Minor";

    private static string Seconds(TimeSpan window) => window.TotalSeconds.ToString("0", CultureInfo.InvariantCulture) + " s";

    private static Dictionary<string, string?> Data(UsageRecorded usage, int count, string severity) => new(StringComparer.Ordinal)
    {
        ["model_group"] = usage.ModelGroup,
        ["deployment_id"] = usage.DeploymentId,
        ["provider"] = usage.Provider,
        ["error_class"] = usage.ErrorClass,
        ["errors"] = count.ToString(CultureInfo.InvariantCulture),
        ["severity"] = severity,
    };

    private static AlertRaised Alert(string kind, string key, string severity, DateTimeOffset now, string message, Dictionary<string, string?> data) => new()
    {
        Kind = kind,
        DedupeKey = $"{kind}:{key}",
        Level = severity == "major" ? "High" : "Medium",
        Message = message,
        RaisedAt = now,
        Data = data,
    };

    private sealed class Window(DateTimeOffset start)
    {
        public DateTimeOffset Start { get; } = start;

        public int Count { get; set; }

        public HashSet<string> Deployments { get; } = new(StringComparer.Ordinal);
    }
}
