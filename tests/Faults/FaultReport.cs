using System.Globalization;
using System.Text;

namespace Broker.Faults;

/// <summary>
/// The table: one row per fault (and one for the steady load before the first), judged against what docs/guarantees.md
/// states; <see cref="Broken"/> when one of those does not hold.
/// </summary>
public sealed class FaultReport(
    FaultOptions options,
    IReadOnlyList<PhaseInfo> phases,
    IReadOnlyCollection<RequestRecord> records,
    IReadOnlyDictionary<string, (int Success, int Failure)> spend,
    IReadOnlyDictionary<string, int> calls,
    int words)
{
    private static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;

    public bool Broken { get; private set; }

    /// <summary>The errors a client may get during this fault, as docs/guarantees.md documents them.</summary>
    public static bool Allowed(string fault, RequestRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        return record.Outcome switch
        {
            Outcome.Ok => true,
            // a stream whose worker died after text was sent ends with a clean error event (docs/guarantees.md, "worker killed mid-stream")
            Outcome.Interrupted => fault is "worker-kill" or "saga-kill" or "rabbitmq-stop",
            // RabbitMQ unreachable from an Ingress: 503 queue_unavailable
            Outcome.QueueUnavailable => fault == "rabbitmq-stop",
            // an Ingress that lost its RabbitMQ connection with requests in flight: 502 answer_lost (they may have run)
            Outcome.AnswerLost => fault == "rabbitmq-stop",
            // PostgreSQL, where the suite's retry sagas keep their state, stopped: a retry or fallback is answered with a
            // documented error instead of running (docs/guarantees.md, "Saga state")
            Outcome.StoreUnavailable => fault == "postgres-stop",
            // the client's own connection to the killed Ingress
            Outcome.Cut => fault == "ingress-kill" && record.Ingress == 0,
            _ => false,
        };
    }

    public string Render()
    {
        var table = new StringBuilder();
        var details = new StringBuilder();
        string[] header = ["fault", "sent", "ok", "allowed err", "lost", "dup", "spliced", "spend ok/rows", "no spend", "charged+failed", "calls/req avg max", "recover s", "p99 s", "verdict"];
        var rows = new List<string[]> { header };
        var steady = records.Where(r => r.Phase == "steady").ToList();
        if (steady.Count > 0)
        {
            rows.Add(Row("(no fault)", null, steady, details));
        }

        foreach (var phase in phases)
        {
            rows.Add(Row(phase.Name, phase, records.Where(r => r.Phase == phase.Name).ToList(), details));
        }

        var widths = Enumerable.Range(0, header.Length).Select(c => rows.Max(r => r[c].Length)).ToArray();
        foreach (var row in rows)
        {
            table.AppendLine(string.Join(" | ", row.Select((cell, c) => c == row.Length - 1 ? cell : cell.PadRight(widths[c]))).TrimEnd());
            if (row == header)
            {
                table.AppendLine(string.Join("-+-", widths.Select(w => new string('-', w))));
            }
        }

        table.AppendLine();
        table.AppendLine($"{options.Clients} clients (3/8 plain, 3/8 streamed, 2/8 - one streamed - to a group whose deployment always answers 500 and falls back), " +
            $"{words} words per answer; 'lost' = no answer or an error docs/guarantees.md does not allow for that fault; 'spend ok/rows' = successful " +
            "answers with a success spend row / success spend rows of the phase's requests; 'no spend' = successful answers without one; " +
            "'charged+failed' = requests with a success spend row whose client got an error; 'recover' = from the end of the fault to the first " +
            "success of a request sent after it; p99 over requests sent from the injection to the recovery. Mode: " +
            (options.Strict ? "--strict (docs/guarantees.md and its limits)" : "docs/guarantees.md (--strict adds its limits)"));
        table.AppendLine();
        table.Append(details);
        return table.ToString();
    }

    private string[] Row(string name, PhaseInfo? phase, List<RequestRecord> phaseRecords, StringBuilder details)
    {
        var fault = phase?.Name ?? "";
        var ok = phaseRecords.Where(r => r.Outcome == Outcome.Ok).ToList();
        var allowedErrors = phaseRecords.Where(r => r.Outcome != Outcome.Ok && Allowed(fault, r)).ToList();
        var lost = phaseRecords.Where(r => !Allowed(fault, r)).ToList();
        var duplicated = phaseRecords.Where(r => r.Duplicated).ToList();
        var spliced = phaseRecords.Where(r => r.Spliced).ToList();
        (int Success, int Failure) SpendOf(RequestRecord r) => spend.TryGetValue(r.Tag, out var s) ? s : (0, 0);
        var successRows = phaseRecords.Sum(r => SpendOf(r).Success);
        var okWithRow = ok.Count(r => SpendOf(r).Success >= 1);
        var noSpend = ok.Where(r => SpendOf(r).Success == 0).ToList();
        var chargedTwice = phaseRecords.Where(r => SpendOf(r).Success > 1).ToList();
        var chargedFailed = phaseRecords.Where(r => r.Outcome != Outcome.Ok && SpendOf(r).Success >= 1).ToList();
        var perRequest = phaseRecords.Select(r => calls.TryGetValue(r.Tag, out var n) ? n : 0).ToList();
        var callsText = perRequest.Count == 0 ? "-" : $"{perRequest.Average().ToString("0.00", Invariant)} {perRequest.Max()}";

        TimeSpan? recovery = phase is { RecoveredAt: { } at } ? at - phase.Ended : null;
        var windowEnd = phase is null ? DateTimeOffset.MaxValue : phase.RecoveredAt ?? phase.Ended.Add(options.RecoveryTimeout);
        var windowStart = phase?.Injected ?? DateTimeOffset.MinValue;
        if (phase is not null && windowEnd - windowStart < TimeSpan.FromSeconds(5))
        {
            windowEnd = windowStart.AddSeconds(5);
        }

        var during = phaseRecords.Where(r => r.Started >= windowStart && r.Started <= windowEnd).Select(r => r.Latency.TotalSeconds).Order().ToList();
        var p99 = during.Count == 0 ? "-" : during[Math.Min(during.Count - 1, (int)Math.Ceiling(during.Count * 0.99) - 1)].ToString("0.0", Invariant);

        var broken = new List<string>();
        var known = new List<string>();
        if (lost.Count > 0)
        {
            // docs/guarantees.md "Not yet guaranteed": a crash of the process running the retry saga can leave a request to time out
            (fault == "saga-kill" && !options.Strict ? known : broken).Add($"{lost.Count} lost");
        }

        if (duplicated.Count > 0)
        {
            broken.Add($"{duplicated.Count} duplicated");
        }

        if (spliced.Count > 0)
        {
            broken.Add($"{spliced.Count} spliced");
        }

        if (noSpend.Count > 0)
        {
            broken.Add($"{noSpend.Count} answers without spend");
        }

        if (chargedTwice.Count > 0)
        {
            broken.Add($"{chargedTwice.Count} charged twice");
        }

        // docs/guarantees.md: a 503 queue_unavailable was "not queued, safe to retry" - one that was charged makes a retry pay twice
        var chargedRetryable = chargedFailed.Where(r => r.Outcome == Outcome.QueueUnavailable).ToList();
        if (chargedRetryable.Count > 0)
        {
            broken.Add($"{chargedRetryable.Count} charged after queue_unavailable");
        }

        if (chargedFailed.Count > chargedRetryable.Count)
        {
            // docs/guarantees.md "Not yet guaranteed": a request the client was told failed may still have run and been charged
            (options.Strict ? broken : known).Add($"{chargedFailed.Count - chargedRetryable.Count} charged but failed");
        }

        if (phase is not null && recovery is null)
        {
            broken.Add($"not recovered within {options.RecoveryTimeout.TotalSeconds:0} s");
        }
        else if (recovery > TimeSpan.FromSeconds(5))
        {
            (options.Strict ? broken : known).Add("recovery > 5 s");
        }

        if (phase is { Name: "rabbitmq-stop" } && phase.ConsumersBackAt is null)
        {
            broken.Add($"consumers not back within {options.RecoveryTimeout.TotalSeconds:0} s ({phase.ConsumersMissing})");
        }
        else if (phase?.ConsumersBackAt - phase?.Ended > TimeSpan.FromSeconds(5))
        {
            (options.Strict ? broken : known).Add("consumers back > 5 s");
        }

        if (phase?.NotServingAgain is { } why)
        {
            broken.Add("not serving again: " + why);
        }

        Broken |= broken.Count > 0;
        var verdict = broken.Count > 0 ? "BROKEN: " + string.Join(", ", broken) : "ok";
        if (known.Count > 0)
        {
            verdict += (broken.Count > 0 ? "; " : " (") + "documented limit: " + string.Join(", ", known) + (broken.Count > 0 ? "" : ")");
        }

        details.AppendLine($"== {name}{(phase is null ? "" : ": " + phase.Note)}");
        if (phase is { ConsumersBackAt: { } back })
        {
            details.AppendLine(CultureInfo.InvariantCulture, $"   every worker and Billing queue consumed again {(back - phase.Ended).TotalSeconds:0.0} s after the fault ended");
        }
        else if (phase?.ConsumersMissing is { } missing)
        {
            details.AppendLine($"   still without their consumers {options.RecoveryTimeout.TotalSeconds:0} s after the fault ended: {missing}");
        }

        foreach (var model in phaseRecords.GroupBy(r => (r.Model, r.Stream)).OrderBy(g => g.Key.Model, StringComparer.Ordinal).ThenBy(g => g.Key.Stream))
        {
            var n = model.Select(r => calls.TryGetValue(r.Tag, out var c) ? c : 0).ToList();
            details.AppendLine(CultureInfo.InvariantCulture, $"   {model.Key.Model}{(model.Key.Stream ? " streamed" : "")}: {model.Count()} sent, " +
                $"{model.Count(r => r.Outcome == Outcome.Ok)} ok, outcomes {string.Join(", ", model.GroupBy(r => r.Outcome).Select(g => $"{g.Key} {g.Count()}"))}, " +
                $"provider calls per request avg {n.Average():0.00} max {n.Max()}");
        }

        if (phaseRecords.Sum(r => SpendOf(r).Failure) is > 0 and var failureRows)
        {
            details.AppendLine(CultureInfo.InvariantCulture, $"   spend rows with status failure: {failureRows}");
        }

        if (noSpend.Count > 0)
        {
            var kinds = noSpend.GroupBy(r => $"{r.Model}{(r.Stream ? " streamed" : "")}").Select(g => $"{g.Key} {g.Count()} (with a failure row {g.Count(r => SpendOf(r).Failure > 0)})");
            details.AppendLine("   answered but no success spend row, by kind: " + string.Join(", ", kinds));
        }

        Examples(details, "lost", lost);
        Examples(details, "duplicated", duplicated);
        Examples(details, "spliced", spliced);
        Examples(details, "answered but no spend row", noSpend);
        Examples(details, "charged but reported failed", chargedFailed);
        return
        [
            name, phaseRecords.Count.ToString(Invariant), ok.Count.ToString(Invariant), allowedErrors.Count.ToString(Invariant),
            lost.Count.ToString(Invariant), duplicated.Count.ToString(Invariant), spliced.Count.ToString(Invariant),
            $"{okWithRow}/{successRows}", noSpend.Count.ToString(Invariant), chargedFailed.Count.ToString(Invariant), callsText,
            recovery is { } r ? r.TotalSeconds.ToString("0.0", Invariant) : phase is null ? "-" : "never", p99, verdict,
        ];
    }

    private static void Examples(StringBuilder details, string what, List<RequestRecord> list)
    {
        foreach (var r in list.Take(5))
        {
            details.AppendLine(CultureInfo.InvariantCulture,
                $"   {what}: {r.Tag} {r.Model}{(r.Stream ? " streamed" : "")} via ingress-{(char)('a' + r.Ingress)} at +{r.Latency.TotalSeconds:0.0} s: {r.Outcome} {r.Detail.Trim()}");
        }

        if (list.Count > 5)
        {
            details.AppendLine(CultureInfo.InvariantCulture, $"   ... and {list.Count - 5} more {what}");
        }
    }
}
