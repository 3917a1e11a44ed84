// The latency hide_secrets adds to one request: GuardrailPipeline.StartAsync (selection, text extraction, the pattern
// set over every text, writing the masked text back) on a chat body whose user message is 4 KB, measured in process.
//
//   dotnet run -c Release --project bench/GuardrailBench [-- --n 2000]
//
// Prints the p50/p99 of the pipeline with hide_secrets default_on, the same with no guardrail configured, and the
// added p50 (their difference), for a clean 4 KB prompt and for one with five secrets in it.
using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Broker.Config;
using Broker.Config.Loading;
using Broker.Ingress.Guardrails;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging.Abstractions;

var n = args.Length > 1 && args[0] == "--n" ? int.Parse(args[1], CultureInfo.InvariantCulture) : 2000;
const string Models = "model_list: [{model_name: m, litellm_params: {model: openai/m, api_key: k}}]\n";
var guarded = Pipeline(Models + "guardrails: [{guardrail_name: secrets, default_on: true, litellm_params: {guardrail: hide_secrets, mode: pre_call}}]\n");
var plain = Pipeline(Models);

var filler = "The quarterly report covers revenue, churn and the roadmap for the next two releases; see section 4. ";
var clean = Repeat(filler, 4096);
var secrets = "key AKIAQWERTYUIOPASDFGH, token ghp_0123456789abcdefghijABCDEFGHIJ012345, db postgres://app:s3cretPass@db:5432/x, " +
    "jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U, password=Tr0ub4dor&3. ";
var dirty = secrets + Repeat(filler, 4096 - secrets.Length);

Console.WriteLine($"hide_secrets on a 4 KB prompt ({Environment.ProcessorCount} cores, load {Load()}, n={n} per figure)");
Console.WriteLine();
Console.WriteLine("| prompt | no guardrail p50 (µs) | hide_secrets p50 (µs) | hide_secrets p99 (µs) | **added p50** (µs) |");
Console.WriteLine("|---|---:|---:|---:|---:|");
foreach (var (name, text) in new[] { ("4 KB, no secret", clean), ("4 KB, 5 secrets", dirty) })
{
    var basePercentiles = await Measure(plain, text, n);
    var guardPercentiles = await Measure(guarded, text, n);
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"| {name} | {basePercentiles.P50:0.0} | {guardPercentiles.P50:0.0} | {guardPercentiles.P99:0.0} | {guardPercentiles.P50 - basePercentiles.P50:0.0} |"));
}

static string Repeat(string text, int length)
{
    var sb = new StringBuilder(length);
    while (sb.Length < length)
    {
        sb.Append(text);
    }

    return sb.ToString(0, length);
}

static GuardrailPipeline Pipeline(string yaml)
{
    var loaded = ProxyConfigLoader.LoadText(yaml, "bench.yaml", _ => null);
    var metrics = new Broker.ServiceDefaults.Observability.BrokerMetrics(new NoMeterFactory());
    IGuardrail[] kinds = [new Broker.Ingress.Guardrails.BuiltIn.HideSecretsGuardrail()];
    return new GuardrailPipeline(new ProxyConfigProvider(loaded.Config!), kinds, new GuardrailMetrics(metrics), TimeProvider.System,
        NullLogger<GuardrailPipeline>.Instance);
}

static async Task<(double P50, double P99)> Measure(GuardrailPipeline pipeline, string text, int n)
{
    var samples = new double[n];
    for (var i = -200; i < n; i++)
    {
        var body = new JsonObject
        {
            ["model"] = "m",
            ["messages"] = new JsonArray(
                new JsonObject { ["role"] = "system", ["content"] = "You are a helpful assistant." },
                new JsonObject { ["role"] = "user", ["content"] = text }),
        };
        var http = new DefaultHttpContext();
        var started = Stopwatch.GetTimestamp();
        var run = await pipeline.StartAsync(http, body, GuardrailShape.OpenAiChat, CancellationToken.None);
        var elapsed = Stopwatch.GetElapsedTime(started).TotalMicroseconds;
        if (run.Error is not null)
        {
            throw new InvalidOperationException("refused");
        }

        if (i >= 0)
        {
            samples[i] = elapsed;
        }
    }

    Array.Sort(samples);
    return (samples[n / 2], samples[(int)(n * 0.99)]);
}

static string Load() => File.Exists("/proc/loadavg") ? string.Join(" ", File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "n/a";

/// <summary>A meter factory whose meters nobody listens to.</summary>
internal sealed class NoMeterFactory : System.Diagnostics.Metrics.IMeterFactory
{
    public System.Diagnostics.Metrics.Meter Create(System.Diagnostics.Metrics.MeterOptions options) => new(options);

    public void Dispose()
    {
    }
}
