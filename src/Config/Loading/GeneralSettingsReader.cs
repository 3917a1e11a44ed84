using Broker.Config.Model;
using YamlDotNet.RepresentationModel;

namespace Broker.Config.Loading;

/// <summary>general_settings → <see cref="GeneralSettings"/>.</summary>
internal static class GeneralSettingsReader
{
    public const string Section = "general_settings";

    public static GeneralSettings Read(NodeConverter convert, YamlNode? node)
    {
        var context = convert.Context;
        var g = new MapReader(convert, node is null ? null : convert.Map(node, Section), Section);
        var settings = new GeneralSettings
        {
            MasterKey = g.Secret("master_key") ?? SecretFromEnv(context, "LITELLM_MASTER_KEY"),
            DatabaseUrl = g.Secret("database_url") ?? SecretFromEnv(context, "DATABASE_URL"),
            DatabaseConnectionPoolLimit = g.Int("database_connection_pool_limit", 1),
            DatabaseConnectionTimeout = g.Duration("database_connection_timeout"),
            EnableJwtAuth = g.Bool("enable_jwt_auth") ?? false,
            UseGoogleKms = g.Bool("use_google_kms") ?? false,
            UseAzureKeyVault = g.Bool("use_azure_key_vault") ?? false,
            DisableMasterKeyReturn = g.Bool("disable_master_key_return") ?? false,
            AllowedIps = g.StringList("allowed_ips") ?? [],
            AllowedRoutes = g.StringList("allowed_routes") ?? [],
            AdminOnlyRoutes = g.StringList("admin_only_routes") ?? [],
            UseXForwardedFor = g.Bool("use_x_forwarded_for") ?? false,
            TrustedProxies = g.StringList("trusted_proxies") ?? [],
            LitellmJwtAuth = JwtAuthReader.Read(g),
            MaxParallelRequests = g.Int("max_parallel_requests", 1),
            GlobalMaxParallelRequests = g.Int("global_max_parallel_requests", 1),
            DisableRetryOnMaxParallelRequestLimitError = g.Bool("disable_retry_on_max_parallel_request_limit_error") ?? false,
            ProxyBatchWriteAt = g.Duration("proxy_batch_write_at"),
            ProxyBatchPollingInterval = g.Duration("proxy_batch_polling_interval"),
            BackgroundHealthChecks = g.Bool("background_health_checks") ?? false,
            HealthCheckInterval = g.Duration("health_check_interval"),
            DisableHealthChecks = g.Bool("disable_health_checks") ?? false,
            HealthCheckDetails = g.Bool("health_check_details") ?? true,
            Alerting = g.StringList("alerting") ?? [],
            AlertingThreshold = g.Duration("alerting_threshold"),
            AlertingArgs = ReadAlertingArgs(g),
            AlertToWebhookUrl = g.StringMap("alert_to_webhook_url") ?? new Dictionary<string, string>(),
            AlertTypes = ReadAlertTypes(g),
            BudgetLocal = g.Decimal("budget_local"),
            BudgetDuration = g.String("budget_duration"),
            BudgetAlertBuffer = g.Double("budget_alert_buffer", 0),
            DisableSpendLogs = g.Bool("disable_spend_logs") ?? false,
            StorePromptsInSpendLogs = g.Bool("store_prompts_in_spend_logs") ?? false,
            MaximumSpendLogsRetentionPeriod = g.String("maximum_spend_logs_retention_period"),
            AllowRequestsOnDbUnavailable = g.Bool("allow_requests_on_db_unavailable") ?? false,
            EnforceUserParam = g.Bool("enforce_user_param") ?? false,
            // reject_metadata_tags: the name an earlier LiteLLM gave the same setting (either one turns it on)
            RejectClientsideMetadataTags = (g.Bool("reject_clientside_metadata_tags") ?? false) | (g.Bool("reject_metadata_tags") ?? false),
            PassThroughEndpoints = PassThroughEndpointsReader.Read(g),
            // LiteLLM also reads STORE_MODEL_IN_DB=True from the environment
            StoreModelInDb = g.Bool("store_model_in_db") ?? string.Equals(context.GetEnv("STORE_MODEL_IN_DB"), "true", StringComparison.OrdinalIgnoreCase),
            UiAccessMode = g.String("ui_access_mode"),
            EnableOauth2Auth = g.Bool("enable_oauth2_auth") ?? false,
            Oauth2Providers = SsoSettingsReader.ReadProviders(g),
            KeyGenerationSettings = g.ObjectMap("key_generation_settings") ?? new Dictionary<string, object?>(),
            MaxRequestSizeMb = g.Double("max_request_size_mb", 0) ?? 10,
        };
        var keyManagement = KeyManagementReader.Read(g, settings.UseGoogleKms, settings.UseAzureKeyVault);
        var (customAuth, customAuthHook) = CustomAuthReader.Read(g);
        var sso = SsoSettingsReader.Read(g, settings.Oauth2Providers);
        return settings with
        {
            KeyManagementSystem = keyManagement?.System,
            KeyManagement = keyManagement,
            CustomAuth = customAuth,
            CustomAuthHook = customAuthHook,
            Sso = sso,
            Extra = g.Finish(),
        };
    }

    private static Secret? SecretFromEnv(LoadContext context, string name) =>
        context.GetEnv(name) is { Length: > 0 } value ? new Secret(value) : null;

    private static AlertingArgs? ReadAlertingArgs(MapReader g)
    {
        var map = g.Map("alerting_args");
        if (map is null)
        {
            return null;
        }

        var r = new MapReader(g.Convert, map, g.ChildPath("alerting_args"));
        var args = new AlertingArgs
        {
            SlackWebhookUrl = r.Secret("slack_webhook_url") ?? SecretFromEnv(g.Convert.Context, "SLACK_WEBHOOK_URL"),
            AlertChannels = r.StringMap("alert_channels") ?? new Dictionary<string, string>(),
            SpendReportFrequency = r.String("spend_report_frequency"),
            BudgetAlertTtl = r.Duration("budget_alert_ttl"),
            AlertTtl = r.Duration("alert_ttl"),
            AlertEmails = r.StringList("alert_emails") ?? [],
            OutageAlertTtl = r.Duration("outage_alert_ttl"),
            RegionOutageAlertTtl = r.Duration("region_outage_alert_ttl"),
            MinorOutageAlertThreshold = r.Int("minor_outage_alert_threshold", 1),
            MajorOutageAlertThreshold = r.Int("major_outage_alert_threshold", 1),
        };
        return args with { Extra = r.Finish() };
    }

    internal static string? Required(MapReader r, string key)
    {
        var value = r.String(key);
        if (value is null && !r.Has(key) && r.Node is not null)
        {
            r.Convert.Context.Error(r.Node, r.ChildPath(key), "required");
        }

        return value;
    }

    /// <summary>alert_types; a kind Broker does not raise gets a warning naming the ones it does.</summary>
    private static List<string>? ReadAlertTypes(MapReader g)
    {
        var items = g.StringItems("alert_types");
        foreach (var (type, node, path) in items ?? [])
        {
            if (!(AlertTypeNames.Known.TryGetValue(type, out var raised) && raised))
            {
                var what = AlertTypeNames.Known.ContainsKey(type) ? "is not raised by Broker" : "is not an alert type";
                g.Convert.Context.Warning(node, path,
                    $"alert type '{type}' {what}; no such alert is sent (raised: {string.Join(", ", AlertTypeNames.Raised)})");
            }
        }

        return items?.Select(i => i.Value).ToList();
    }
}
