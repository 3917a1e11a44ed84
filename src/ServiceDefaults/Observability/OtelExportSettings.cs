namespace Broker.ServiceDefaults.Observability;

/// <summary>How traces leave the process under the <c>otel</c> callback, read as LiteLLM reads them.</summary>
public enum OtelExporterKind
{
    /// <summary>OTLP over HTTP/protobuf (<c>otlp_http</c>).</summary>
    OtlpHttp,

    /// <summary>OTLP over gRPC (<c>otlp_grpc</c>).</summary>
    OtlpGrpc,

    /// <summary>One line per span on standard output (<c>console</c>).</summary>
    Console,
}

/// <summary>
/// LiteLLM's OpenTelemetry settings: <c>OTEL_EXPORTER</c> (console, otlp_http, otlp_grpc), <c>OTEL_ENDPOINT</c> and
/// <c>OTEL_HEADERS</c> (<c>key=value,key2=value2</c>). Without OTEL_EXPORTER the OTLP exporter's own
/// <c>OTEL_EXPORTER_OTLP_*</c> variables apply.
/// </summary>
public sealed record OtelExportSettings
{
    public OtelExporterKind? Exporter { get; init; }

    public string? Endpoint { get; init; }

    public string? Headers { get; init; }

    /// <summary>The settings from <paramref name="env"/>; an unknown OTEL_EXPORTER value is reported in <paramref name="problem"/> and OTLP defaults apply.</summary>
    public static OtelExportSettings From(Func<string, string?> env, out string? problem)
    {
        ArgumentNullException.ThrowIfNull(env);
        problem = null;
        var raw = env("OTEL_EXPORTER")?.Trim().ToLowerInvariant();
        OtelExporterKind? kind = raw switch
        {
            null or "" => null,
            "otlp_http" or "otlp" or "http/protobuf" => OtelExporterKind.OtlpHttp,
            "otlp_grpc" or "grpc" => OtelExporterKind.OtlpGrpc,
            "console" => OtelExporterKind.Console,
            _ => null,
        };
        if (kind is null && raw is { Length: > 0 })
        {
            problem = $"OTEL_EXPORTER '{raw}' is not one of console, otlp_http, otlp_grpc; traces go over OTLP with the OTEL_EXPORTER_OTLP_* settings";
        }

        return new OtelExportSettings
        {
            Exporter = kind,
            Endpoint = env("OTEL_ENDPOINT") is { Length: > 0 } endpoint ? endpoint.Trim() : null,
            Headers = env("OTEL_HEADERS") is { Length: > 0 } headers ? headers.Trim() : null,
        };
    }

    /// <summary>
    /// The OTLP/HTTP traces URL: OTEL_ENDPOINT as given when it names a path (LiteLLM's examples give
    /// <c>http://host:4318/v1/traces</c>), else with <c>/v1/traces</c> added.
    /// </summary>
    public static Uri HttpTracesUrl(string endpoint)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        var uri = new Uri(endpoint, UriKind.Absolute);
        return uri.AbsolutePath is "/" or "" ? new Uri(uri, "/v1/traces") : uri;
    }
}
