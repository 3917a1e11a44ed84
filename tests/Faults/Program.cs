using Broker.Faults;

// The fault suite: Broker distributed (2 Ingress, 2 workers, 1 Billing as real processes) on private RabbitMQ, PostgreSQL
// and Redis instances, under steady load; one fault at a time; one row per fault; exit code 1 when a guarantee the
// docs/guarantees.md states is broken (with --strict: also the limits it lists).
var options = FaultOptions.Parse(args);
if (options is null)
{
    Console.Error.WriteLine(FaultOptions.Usage);
    return 2;
}

using var interrupted = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    interrupted.Cancel();
};

var root = Path.Combine(Path.GetTempPath(), $"broker-faults-{DateTimeOffset.UtcNow:yyyyMMdd-HHmmss}");
Directory.CreateDirectory(root);
Say($"logs and private service data in {root}");
var suite = new FaultSuite(options, root);
try
{
    return await suite.RunAsync(interrupted.Token);
}
catch (Exception ex) when (ex is TimeoutException or InvalidOperationException or OperationCanceledException)
{
    Console.Error.WriteLine($"fault suite aborted: {ex.Message}");
    return 2;
}
finally
{
    await suite.DisposeAsync();
    if (!options.Keep)
    {
        foreach (var data in new[] { "postgres", "rabbitmq", "redis" })
        {
            try
            {
                Directory.Delete(Path.Combine(root, data), recursive: true);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                // logs stay either way
            }
        }
    }
}

static void Say(string text) => Console.Error.WriteLine($"[faults {DateTimeOffset.UtcNow:HH:mm:ss}] {text}");
