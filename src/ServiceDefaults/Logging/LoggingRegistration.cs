using Microsoft.Extensions.Hosting;
using Serilog;
using Serilog.Events;
using Serilog.Formatting.Compact;

namespace Broker.ServiceDefaults.Logging;

public static class LoggingRegistration
{
    /// <summary>Serilog as the only logging provider: console, plain or JSON lines; Debug with --debug.</summary>
    public static IHostApplicationBuilder AddBrokerLogging(this IHostApplicationBuilder builder, bool debug, bool jsonLogs)
    {
        ArgumentNullException.ThrowIfNull(builder);
        // this host's own logger, not the process-wide static one: a process holding several hosts (tests) keeps their lines apart
        builder.Services.AddSerilog((services, lc) =>
        {
            lc.ReadFrom.Configuration(builder.Configuration)
                .MinimumLevel.Is(debug ? LogEventLevel.Debug : LogEventLevel.Information)
                .MinimumLevel.Override("Microsoft.AspNetCore", LogEventLevel.Warning)
                .MinimumLevel.Override("Microsoft.Extensions.Http", LogEventLevel.Warning)
                .MinimumLevel.Override("System.Net.Http", LogEventLevel.Warning)
                .MinimumLevel.Override("MassTransit", debug ? LogEventLevel.Information : LogEventLevel.Warning)
                .Enrich.FromLogContext();
            if (jsonLogs)
            {
                lc.WriteTo.Console(new CompactJsonFormatter());
            }
            else
            {
                lc.WriteTo.Console(outputTemplate: "[{Timestamp:HH:mm:ss} {Level:u3}] {SourceContext}: {Message:lj}{NewLine}{Exception}");
            }
        }, preserveStaticLogger: true);
        return builder;
    }
}
