using System.Diagnostics;
using System.Globalization;
using System.Text;
using OpenTelemetry;

namespace Broker.ServiceDefaults.Observability;

/// <summary><c>OTEL_EXPORTER=console</c>: one line per finished span on standard output (name, ids, duration, attributes).</summary>
internal sealed class ConsoleSpanExporter(TextWriter output) : BaseExporter<Activity>
{
    public override ExportResult Export(in Batch<Activity> batch)
    {
        foreach (var activity in batch)
        {
            var line = new StringBuilder("otel span ")
                .Append(activity.DisplayName)
                .Append(" trace_id=").Append(activity.TraceId.ToHexString())
                .Append(" span_id=").Append(activity.SpanId.ToHexString())
                .Append(" duration_ms=").Append(activity.Duration.TotalMilliseconds.ToString("0.###", CultureInfo.InvariantCulture));
            foreach (var (key, value) in activity.TagObjects)
            {
                line.Append(' ').Append(key).Append('=').Append(Convert.ToString(value, CultureInfo.InvariantCulture));
            }

            output.WriteLine(line.ToString());
        }

        output.Flush();
        return ExportResult.Success;
    }
}
