namespace Broker.Config.Model;

/// <summary>general_settings: the proxy server.</summary>
public sealed record GeneralSettings
{
    /// <summary>master_key, else LITELLM_MASTER_KEY; null = open gateway.</summary>
    public Secret? MasterKey { get; init; }

    public Secret? DatabaseUrl { get; init; }

    public int? DatabaseConnectionPoolLimit { get; init; }

    public TimeSpan? DatabaseConnectionTimeout { get; init; }

    public bool EnableJwtAuth { get; init; }

    public string? KeyManagementSystem { get; init; }

    /// <summary>key_management_system with key_management_settings; null when no manager is named.</summary>
    public KeyManagementSettings? KeyManagement { get; init; }

    /// <summary>use_google_kms (LiteLLM's older form of key_management_system: google_kms).</summary>
    public bool UseGoogleKms { get; init; }

    /// <summary>use_azure_key_vault (LiteLLM's older form of key_management_system: azure_key_vault).</summary>
    public bool UseAzureKeyVault { get; init; }

    public bool DisableMasterKeyReturn { get; init; }

    public IReadOnlyList<string> AllowedIps { get; init; } = [];

    public IReadOnlyList<string> AllowedRoutes { get; init; } = [];

    public IReadOnlyList<string> AdminOnlyRoutes { get; init; } = [];

    /// <summary>use_x_forwarded_for: take the client address from X-Forwarded-For (only from <see cref="TrustedProxies"/>).</summary>
    public bool UseXForwardedFor { get; init; }

    /// <summary>trusted_proxies (Broker): CIDRs of the proxies whose X-Forwarded-For is believed.</summary>
    public IReadOnlyList<string> TrustedProxies { get; init; } = [];

    /// <summary>litellm_jwtauth: claim names and roles for enable_jwt_auth, as loaded.</summary>
    public IReadOnlyDictionary<string, object?> LitellmJwtAuth { get; init; } = new Dictionary<string, object?>();

    /// <summary>Default per-deployment concurrency limit.</summary>
    public int? MaxParallelRequests { get; init; }

    public int? GlobalMaxParallelRequests { get; init; }

    public bool DisableRetryOnMaxParallelRequestLimitError { get; init; }

    public TimeSpan? ProxyBatchWriteAt { get; init; }

    public TimeSpan? ProxyBatchPollingInterval { get; init; }

    public bool BackgroundHealthChecks { get; init; }

    public TimeSpan? HealthCheckInterval { get; init; }

    public bool DisableHealthChecks { get; init; }

    /// <summary>health_check_details: false shows only each deployment's model and error in <c>GET /health</c>.</summary>
    public bool HealthCheckDetails { get; init; } = true;

    public IReadOnlyList<string> Alerting { get; init; } = [];

    public TimeSpan? AlertingThreshold { get; init; }

    public AlertingArgs? AlertingArgs { get; init; }

    /// <summary>alert_to_webhook_url: alert kind → URL.</summary>
    public IReadOnlyDictionary<string, string> AlertToWebhookUrl { get; init; } = new Dictionary<string, string>();

    /// <summary>alert_types: which alert kinds are sent (llm_exceptions, budget_alerts, ...); null = all.</summary>
    public IReadOnlyList<string>? AlertTypes { get; init; }

    public decimal? BudgetLocal { get; init; }

    public string? BudgetDuration { get; init; }

    public double? BudgetAlertBuffer { get; init; }

    public bool DisableSpendLogs { get; init; }

    public bool StorePromptsInSpendLogs { get; init; }

    public string? MaximumSpendLogsRetentionPeriod { get; init; }

    public bool AllowRequestsOnDbUnavailable { get; init; }

    public bool EnforceUserParam { get; init; }

    /// <summary>reject_clientside_metadata_tags: a caller's request may not carry its own tags; they come from its key and team.</summary>
    public bool RejectClientsideMetadataTags { get; init; }

    public IReadOnlyList<PassThroughEndpoint> PassThroughEndpoints { get; init; } = [];

    public bool StoreModelInDb { get; init; }

    public string? UiAccessMode { get; init; }

    public bool EnableOauth2Auth { get; init; }

    public IReadOnlyList<OAuth2Provider> Oauth2Providers { get; init; } = [];

    /// <summary>Admin UI sign-in by SSO: <see cref="Oauth2Providers"/> and LiteLLM's environment variables, resolved.</summary>
    public SsoSettings Sso { get; init; } = new();

    /// <summary>custom_auth as LiteLLM's Python module path (loaded with a warning, never called).</summary>
    public string? CustomAuth { get; init; }

    /// <summary>custom_auth as Broker's HTTP hook (<c>{url, headers, timeout}</c>).</summary>
    public CustomAuthHook? CustomAuthHook { get; init; }

    public IReadOnlyDictionary<string, object?> KeyGenerationSettings { get; init; } = new Dictionary<string, object?>();

    /// <summary>max_request_size_mb (default 10).</summary>
    public double MaxRequestSizeMb { get; init; } = 10;

    /// <summary>Other general_settings keys, kept as loaded.</summary>
    public IReadOnlyDictionary<string, object?> Extra { get; init; } = new Dictionary<string, object?>();
}

/// <summary>alerting_args.</summary>
public sealed record AlertingArgs
{
    public Secret? SlackWebhookUrl { get; init; }

    /// <summary>alert_channels: alert kind → Slack channel.</summary>
    public IReadOnlyDictionary<string, string> AlertChannels { get; init; } = new Dictionary<string, string>();

    public string? SpendReportFrequency { get; init; }

    /// <summary>budget_alert_ttl: a budget alert with the same key is sent once per this window (LiteLLM: 24 h).</summary>
    public TimeSpan? BudgetAlertTtl { get; init; }

    /// <summary>alert_ttl (Broker): the de-duplication window of every other alert kind (default 10 min).</summary>
    public TimeSpan? AlertTtl { get; init; }

    /// <summary>alert_emails (Broker): recipients of email alerts, besides ALERT_EMAILS and a budget alert's user_email.</summary>
    public IReadOnlyList<string> AlertEmails { get; init; } = [];

    /// <summary>outage_alert_ttl: the window in which a deployment's errors count towards an outage (LiteLLM: 60 s).</summary>
    public TimeSpan? OutageAlertTtl { get; init; }

    /// <summary>region_outage_alert_ttl: the same for the deployments of one region_name (LiteLLM: 60 s).</summary>
    public TimeSpan? RegionOutageAlertTtl { get; init; }

    /// <summary>minor_outage_alert_threshold: errors in the window that make a minor outage (LiteLLM: 5).</summary>
    public int? MinorOutageAlertThreshold { get; init; }

    /// <summary>major_outage_alert_threshold: errors in the window that make a major outage (LiteLLM: 10).</summary>
    public int? MajorOutageAlertThreshold { get; init; }

    public IReadOnlyDictionary<string, object?> Extra { get; init; } = new Dictionary<string, object?>();
}
