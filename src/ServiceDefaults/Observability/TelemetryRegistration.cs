using System.Diagnostics.Metrics;
using MassTransit.Logging;
using MassTransit.Monitoring;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using OpenTelemetry;
using OpenTelemetry.Exporter;
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
    public static IHostApplicationBuilder AddBrokerTelemetry(this IHostApplicationBuilder builder, bool tracing) =>
        AddBrokerTelemetry(builder, tracing ? new OtelExportSettings() : null);

    /// <summary>
    /// As above, with LiteLLM's exporter settings (<see cref="OtelExportSettings"/>); null = no tracing. Each provider call
    /// is a span with the GenAI attributes (<see cref="GenAiTelemetry"/>).
    /// </summary>
    public static IHostApplicationBuilder AddBrokerTelemetry(this IHostApplicationBuilder builder, OtelExportSettings? tracing)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.TryAddSingleton<BrokerMetrics>();
        var otel = builder.Services.AddOpenTelemetry()
            .WithMetrics(m => m
                .AddMeter(BrokerMetrics.MeterName, InstrumentationOptions.MeterName)
                .AddPrometheusExporter());
        // A meter made by another host's IMeterFactory (several hosts share one process in tests, or an app embedding
        // Broker) is not this host's: reading it would merge its series into ours and drop ours when that host stops.
        builder.Services.ConfigureOpenTelemetryMeterProvider((services, metrics) =>
        {
            var own = services.GetRequiredService<IMeterFactory>();
            metrics.AddView(instrument => instrument.Meter.Scope is IMeterFactory scope && !ReferenceEquals(scope, own) ? MetricStreamConfiguration.Drop : null);
        });
        if (tracing is not null)
        {
            otel.WithTracing(t =>
            {
                t.AddSource(DiagnosticHeaders.DefaultListenerName, GenAiTelemetry.SourceName)
                    .AddAspNetCoreInstrumentation(o => o.Filter = http => !http.Request.Path.StartsWithSegments("/metrics"))
                    .AddHttpClientInstrumentation(o => o.FilterHttpRequestMessage = r => !IsExport(r, tracing));
                if (tracing.Exporter == OtelExporterKind.Console)
                {
                    t.AddProcessor(new SimpleActivityExportProcessor(new ConsoleSpanExporter(Console.Out)));
                }
                else
                {
                    t.AddOtlpExporter(o =>
                    {
                        if (tracing.Exporter is { } kind)
                        {
                            o.Protocol = kind == OtelExporterKind.OtlpGrpc ? OtlpExportProtocol.Grpc : OtlpExportProtocol.HttpProtobuf;
                        }

                        if (tracing.Endpoint is { } endpoint)
                        {
                            o.Endpoint = o.Protocol == OtlpExportProtocol.HttpProtobuf ? OtelExportSettings.HttpTracesUrl(endpoint) : new Uri(endpoint);
                        }

                        if (tracing.Headers is { } headers)
                        {
                            o.Headers = headers;
                        }
                    });
                }
            });
        }

        return builder;
    }

    /// <summary>The exporter's own posts are not traced (a span per export would feed the next export forever).</summary>
    private static bool IsExport(HttpRequestMessage request, OtelExportSettings tracing) =>
        tracing.Endpoint is { } endpoint && request.RequestUri is { } uri &&
        uri.GetLeftPart(UriPartial.Authority).Equals(new Uri(endpoint).GetLeftPart(UriPartial.Authority), StringComparison.OrdinalIgnoreCase);

    /// <summary><c>GET /metrics</c> in Prometheus' text format.</summary>
    public static WebApplication MapBrokerMetrics(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        // open, for the scraper: declared so, since a route without a declaration is refused
        app.MapPrometheusScrapingEndpoint("/metrics").AllowAnonymous();
        return app;
    }
}
