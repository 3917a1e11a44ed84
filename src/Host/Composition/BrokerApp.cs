using Broker.Billing;
using Broker.Config;
using Broker.Config.Loading;
using Broker.Config.Model;
using Broker.Ingress;
using Broker.ServiceDefaults.Bus;
using Broker.ServiceDefaults.Database;
using Broker.ServiceDefaults.Logging;
using Broker.ServiceDefaults.Observability;
using Broker.ServiceDefaults.Options;
using Broker.ServiceDefaults.Reload;
using Broker.Workers;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;

namespace Broker.Host.Composition;

/// <summary>Composes the requested roles into one host: the Ingress as a web app, Workers and Billing as bus consumers.</summary>
public static class BrokerApp
{
    /// <summary>Builds (does not start) the host for <paramref name="options"/> over a loaded config.</summary>
    public static IHost Build(RunOptions options, ConfigLoadResult loaded)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(loaded);
        var config = loaded.Config ?? throw new ArgumentException("config is not usable", nameof(loaded));
        var provider = new ProxyConfigProvider(config, loaded.GetEnvironmentVariable);
        var debug = options.Debug || config.LitellmSettings.SetVerbose;

        IHostApplicationBuilder builder;
        WebApplicationBuilder? web = null;
        if (options.Roles.HasFlag(BrokerRoles.Ingress))
        {
            web = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [] });
            web.WebHost.UseUrls($"http://{(options.Host is "0.0.0.0" or "*" ? "0.0.0.0" : options.Host)}:{options.Port}");
            builder = web;
        }
        else
        {
            builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { Args = [] });
        }

        builder.Configuration.AddInMemoryCollection(options.Settings);
        if (DatabaseRegistration.DistributedError(config.GeneralSettings.DatabaseUrl?.Value, options.RoleGiven) is { } storeError)
        {
            throw new InvalidOperationException(storeError);
        }

        // an embedded SQLite store is for one process: roles in separate processes need a PostgreSQL database_url
        builder.Configuration.AddInMemoryCollection([new(DatabaseRegistration.DistributedSetting, options.RoleGiven ? "true" : "false")]);
        builder.AddBrokerLogging(debug, config.LitellmSettings.JsonLogs);
        var settings = config.LitellmSettings;
        var tracing = settings.Callbacks.Concat(settings.SuccessCallback).Concat(settings.FailureCallback).Concat(settings.ServiceCallback)
            .Contains(CallbackNames.Otel, StringComparer.OrdinalIgnoreCase);
        // LiteLLM's OTEL_EXPORTER / OTEL_ENDPOINT / OTEL_HEADERS: config.yaml's environment_variables first, then the process
        string? otelProblem = null;
        var otel = tracing ? OtelExportSettings.From(new ConfigEnvironment(config).Get, out otelProblem) : null;
        builder.AddBrokerTelemetry(otel);
        builder.Services.AddSingleton<IProxyConfigProvider>(provider);
        // config.yaml edited while running: re-read, validated, swapped in (file watch, periodic check, SIGHUP, bus, /config/reload)
        builder.AddConfigReload();
        builder.Services.AddSingleton(TimeProvider.System);
        // general_settings.database_url: keys (Ingress), spend (Billing), batches; migrations run by whichever role starts first
        builder.AddBrokerDatabase();

        if (options.Roles.HasFlag(BrokerRoles.Ingress))
        {
            builder.AddIngress();
        }

        if (options.Roles.HasFlag(BrokerRoles.Workers))
        {
            builder.AddWorkers(provider, new WorkersOptions { Groups = options.Groups, ConcurrencyPerGroup = options.Concurrency });
        }

        if (options.Roles.HasFlag(BrokerRoles.Billing))
        {
            builder.AddBilling(config);
        }

        builder.AddBrokerBus(new BusOptions { RabbitMqUrl = options.RabbitMqUrl });

        IHost host;
        if (web is not null)
        {
            var app = web.Build();
            ValidatedOptions.Check(app.Services);
            app.MapIngress();
            host = app;
        }
        else
        {
            host = ((HostApplicationBuilder)builder).Build();
            ValidatedOptions.Check(host.Services);
        }

        ReportStartup(host, options, loaded);
        if (otelProblem is not null)
        {
            Log.ConfigWarning(host.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Broker"), otelProblem);
        }

        return host;
    }

    /// <summary>The addresses the Ingress listens on, once started (empty for other roles).</summary>
    public static IReadOnlyList<string> Addresses(IHost host)
    {
        ArgumentNullException.ThrowIfNull(host);
        return host.Services.GetService<IServer>()?.Features.Get<IServerAddressesFeature>()?.Addresses.ToList() ?? [];
    }

    private static void ReportStartup(IHost host, RunOptions options, ConfigLoadResult loaded)
    {
        var logger = host.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Broker");
        foreach (var d in loaded.Diagnostics)
        {
            if (d.Severity == ConfigSeverity.Warning)
            {
                Log.ConfigWarning(logger, d.ToString());
            }
            else if (d.Severity == ConfigSeverity.Info)
            {
                Log.ConfigNotActive(logger, d.ToString());
            }
        }

        // the same rule as the auth filter: without a master key, JWT auth or a custom_auth hook, nothing is checked
        if (options.Roles.HasFlag(BrokerRoles.Ingress) && loaded.Config!.GeneralSettings is { MasterKey: null, EnableJwtAuth: false, CustomAuthHook: null })
        {
            Log.OpenGateway(logger);
        }

        if (options.NumWorkers is { } n)
        {
            Log.NumWorkersIgnored(logger, n);
        }

        Log.Started(logger, options.Roles.ToString(), options.RabbitMqUrl is null ? "in-memory" : "rabbitmq",
            loaded.Config!.ModelGroups.Count, options.ConfigPath);
    }
}
