using System.Collections.Concurrent;
using Serilog;
using Serilog.Configuration;
using Serilog.Core;
using Serilog.Events;
using Serilog.Formatting.Display;

namespace Broker.Host.Tests.Infrastructure;

/// <summary>
/// A Serilog sink that keeps every rendered log line of the brokers it is configured into, so tests can assert on
/// what was logged (e.g. that no secret ever is). Added through the host settings the broker already reads
/// (<see cref="Settings"/>): nothing global like the process's console is swapped, so tests running at once
/// cannot steal each other's lines.
/// </summary>
public sealed class LogCapture : ILogEventSink
{
    private static readonly ConcurrentDictionary<string, LogCapture> Captures = new(StringComparer.Ordinal);
    // as the console shows it: literal strings unquoted
    private static readonly MessageTemplateTextFormatter Format = new("{Level} {SourceContext}: {Message:lj} {Exception}");
    private readonly ConcurrentQueue<string> _lines = new();

    private LogCapture(string id) => Id = id;

    public string Id { get; }

    /// <summary>Every line so far: level, source, rendered message and exception.</summary>
    public string All => string.Join("\n", _lines);

    /// <summary>Host settings that add this capture as a Serilog sink (merge them into the runner's settings).</summary>
    public IReadOnlyDictionary<string, string?> Settings => new Dictionary<string, string?>
    {
        ["Serilog:Using:0"] = typeof(LogCapture).Assembly.GetName().Name,
        ["Serilog:WriteTo:0:Name"] = nameof(LogCaptureSinkExtensions.BrokerTestCapture),
        ["Serilog:WriteTo:0:Args:id"] = Id,
    };

    public static LogCapture Create()
    {
        var capture = new LogCapture(Guid.NewGuid().ToString("N"));
        Captures[capture.Id] = capture;
        return capture;
    }

    internal static LogCapture Find(string id) =>
        Captures.TryGetValue(id, out var capture) ? capture : throw new InvalidOperationException($"no log capture {id}");

    public void Emit(LogEvent logEvent)
    {
        ArgumentNullException.ThrowIfNull(logEvent);
        using var line = new StringWriter(System.Globalization.CultureInfo.InvariantCulture);
        Format.Format(logEvent, line);
        _lines.Enqueue(line.ToString());
    }
}

/// <summary>The <c>WriteTo</c> method Serilog's configuration reader finds by name.</summary>
public static class LogCaptureSinkExtensions
{
    public static LoggerConfiguration BrokerTestCapture(this LoggerSinkConfiguration configuration, string id)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        return configuration.Sink(LogCapture.Find(id));
    }
}
