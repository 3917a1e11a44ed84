using MassTransit.Logging;
using MassTransit.Monitoring;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

namespace Broker.ServiceDefaults.Observability;

public static class TelemetryRegistration
{
    /// <summary>
    /// Metrics (Broker's and MassTransit's) for <c>GET /metrics</c>; with <paramref name="tracing"/> (litellm_settings
    /// callbacks <c>otel</c>) OpenTelemetry traces across ingress → queue → worker → provider, exported over OTLP
    /// (<c>OTEL_EXPORTER_OTLP_ENDPOINT</c>). Trace context travels in MassTransit's message headers.
    /// </summary>
    public static IHostApplicationBuilder AddBrokerTelemetry(this IHostApplicationBuilder builder, bool tracing)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.TryAddSingleton<BrokerMetrics>();
        var otel = builder.Services.AddOpenTelemetry()
            .WithMetrics(m => m
                .AddMeter(BrokerMetrics.MeterName, InstrumentationOptions.MeterName)
                .AddPrometheusExporter());
        if (tracing)
        {
            otel.WithTracing(t => t
                .AddSource(DiagnosticHeaders.DefaultListenerName)
                .AddAspNetCoreInstrumentation(o => o.Filter = http => !http.Request.Path.StartsWithSegments("/metrics"))
                .AddHttpClientInstrumentation()
                .AddOtlpExporter());
        }

        return builder;
    }

    /// <summary><c>GET /metrics</c> in Prometheus' text format.</summary>
    public static WebApplication MapBrokerMetrics(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        // open, for the scraper: declared so, since a route without a declaration is refused
        app.MapPrometheusScrapingEndpoint("/metrics").AllowAnonymous();
        return app;
    }
}
