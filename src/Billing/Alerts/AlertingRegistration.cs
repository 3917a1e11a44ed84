using Broker.Config;
using Broker.Config.Model;
using Broker.ServiceDefaults.Bus;
using Broker.ServiceDefaults.Redis;
using MassTransit;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Broker.Billing.Alerts;

public static class AlertingRegistration
{
    public const string HttpClientName = "broker-alerts";

    /// <summary>
    /// Alert detection (failed, slow requests; cooldowns; spend reports) and delivery (Slack, email, webhook) in the
    /// Billing role, each on its own receive endpoint. Finished requests are watched (<see cref="UsageAlertsConsumer"/>, a
    /// copy of every <c>UsageRecorded</c>) only when <paramref name="config"/> sends an alert kind that comes from them.
    /// </summary>
    public static IHostApplicationBuilder AddAlerting(this IHostApplicationBuilder builder, ProxyConfig config)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(config);
        // read once at start (alerting needs a restart to change): what is registered here is what runs
        var alerting = AlertingOptions.From(config, new ConfigEnvironment(config));
        var watchesUsage = alerting.WatchesUsage;
        if (!watchesUsage)
        {
            builder.Services.AddRetiredQueue(UsageAlertsConsumerDefinition.QueueName, "no alert kind that comes from finished requests is on");
        }

        builder.AddBrokerRedis();
        builder.Services.TryAddSingleton(TimeProvider.System);
        builder.Services.TryAddSingleton(sp => new ConfigEnvironment(sp.GetRequiredService<IProxyConfigProvider>().Current));
        builder.Services.TryAddSingleton(alerting);
        builder.Services.AddHttpClient(HttpClientName, c => c.Timeout = TimeSpan.FromSeconds(30));
        builder.Services.TryAddSingleton(sp =>
        {
            var configuration = sp.GetRequiredService<IConfiguration>();
            var attempts = int.TryParse(configuration["Alerts:RetryAttempts"], out var a) ? a : 5;
            var delayMs = double.TryParse(configuration["Alerts:RetryDelayMs"], System.Globalization.NumberStyles.Float,
                System.Globalization.CultureInfo.InvariantCulture, out var d) && d > 0 ? d : 1000;
            return new DeliveryRetry(attempts, TimeSpan.FromMilliseconds(delayMs), sp.GetRequiredService<TimeProvider>(),
                sp.GetRequiredService<ILogger<DeliveryRetry>>());
        });
        builder.Services.TryAddSingleton<AlertDeduplicator>();
        builder.Services.TryAddSingleton<OutageAlerts>();
        builder.Services.AddSingleton<IAlertChannel, SlackAlertChannel>();
        builder.Services.AddSingleton<IAlertChannel, EmailAlertChannel>();
        builder.Services.AddSingleton<IAlertChannel, WebhookAlertChannel>();
        builder.Services.AddHostedService<SpendReportService>();
        builder.Services.AddHostedService<AlertingStartup>();
        builder.AddBusContribution(new AlertingBusContribution(watchesUsage));
        return builder;
    }

    private sealed class AlertingBusContribution(bool watchesUsage) : IBusContribution
    {
        public void AddConsumers(IBusRegistrationConfigurator configurator)
        {
            configurator.AddConsumer<AlertRaisedConsumer, AlertRaisedConsumerDefinition>();
            if (watchesUsage)
            {
                configurator.AddConsumer<UsageAlertsConsumer, UsageAlertsConsumerDefinition>();
            }

            configurator.AddConsumer<CooldownAlertsConsumer, CooldownAlertsConsumerDefinition>();
        }

        public void ConfigureEndpoints(IBusRegistrationContext context, IBusFactoryConfigurator configurator)
        {
        }
    }

    /// <summary>Says once at start-up which alert channels are on.</summary>
    private sealed class AlertingStartup(AlertingOptions options, ILogger<AlertingStartup> logger) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken)
        {
            if (options.AnyChannel)
            {
                var channels = string.Join(", ", new[] { options.Slack ? "slack" : null, options.Email ? "email" : null, options.Webhook ? "webhook" : null }.OfType<string>());
                Log.AlertingOn(logger, channels, options.Threshold.TotalSeconds, options.SpendReportFrequency?.ToString() ?? "never");
            }

            if (options.Slack && options.SlackWebhookUrl is null && !options.AlertChannels.Values.Any(v => v.StartsWith("http", StringComparison.OrdinalIgnoreCase)))
            {
                Log.ChannelNotConfigured(logger, "slack", "no alerting_args.slack_webhook_url or SLACK_WEBHOOK_URL");
            }

            if (options.Email && (options.Smtp is null || options.EmailRecipients.Count == 0))
            {
                Log.ChannelNotConfigured(logger, "email", options.Smtp is null ? "SMTP_HOST is not set" : "no alerting_args.alert_emails or ALERT_EMAILS (only budget alerts with a user_email go out)");
            }

            if (options.Webhook && options.WebhookUrls.Count == 0 && options.DefaultWebhookUrl is null)
            {
                Log.ChannelNotConfigured(logger, "webhook", "no alert_to_webhook_url or WEBHOOK_URL");
            }

            return Task.CompletedTask;
        }

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
