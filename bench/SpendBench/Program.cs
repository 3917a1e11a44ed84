// Spend events written per second by one Billing process (batched binary COPY, one aggregated update per entity).
//
//   spend-bench --broker src/Host/bin/Release/net10.0/broker.dll --rabbitmq amqp://guest:guest@127.0.0.1:5672/vhost \
//               --pg postgresql://broker:broker@127.0.0.1:5432/broker [--n 20000] [--baseline-n 3000]
//
// Creates a fresh database on the --pg server, starts `broker --role billing` against it on the given RabbitMQ
// (its own process, stopped at the end), publishes --n UsageRecorded events (100 keys, 20 users, 10 teams) and
// times from the first publish until every event is a spend log row; then checks that the proxy's total equals
// the sum of the costs exactly. Baseline in the same run: --baseline-n events written one per transaction (INSERT
// the log row, UPDATE key/user/team spend, upsert the proxy total), as a per-request writer does, on one connection.
// Prints a markdown section; exit code 1 when a check fails.
using System.Diagnostics;
using System.Globalization;
using Broker.Contracts.Identity;
using Broker.Contracts.Usage;
using MassTransit;
using Npgsql;
using RabbitMQ.Client;

string Arg(string name, string fallback)
{
    var i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? args[i + 1] : fallback;
}

var brokerDll = Arg("--broker", "src/Host/bin/Release/net10.0/broker.dll");
var rabbit = new Uri(Arg("--rabbitmq", "amqp://guest:guest@127.0.0.1:5672/"));
var pg = new Uri(Arg("--pg", "postgresql://broker:broker@127.0.0.1:5432/broker"));
var n = int.Parse(Arg("--n", "20000"), CultureInfo.InvariantCulture);
var baselineN = int.Parse(Arg("--baseline-n", "3000"), CultureInfo.InvariantCulture);

var userInfo = pg.UserInfo.Split(':');
var admin = new NpgsqlConnectionStringBuilder
{
    Host = pg.Host, Port = pg.Port > 0 ? pg.Port : 5432, Username = Uri.UnescapeDataString(userInfo[0]),
    Password = userInfo.Length > 1 ? Uri.UnescapeDataString(userInfo[1]) : null, Database = pg.AbsolutePath.Trim('/'), Pooling = false,
}.ConnectionString;
var dbName = $"broker_bench_{Environment.ProcessId}_{Guid.NewGuid().ToString("N")[..6]}";
await Exec(admin, $"CREATE DATABASE \"{dbName}\"");
var connection = new NpgsqlConnectionStringBuilder(admin) { Database = dbName, Pooling = true }.ConnectionString;
var configPath = Path.Combine(Path.GetTempPath(), $"{dbName}.yaml");
await File.WriteAllTextAsync(configPath, $$"""
    model_list:
      - model_name: bench
        litellm_params: { model: openai/bench, api_base: "http://127.0.0.1:9/v1", api_key: none }
    general_settings:
      database_url: "postgresql://{{pg.UserInfo}}@{{pg.Host}}:{{(pg.Port > 0 ? pg.Port : 5432)}}/{{dbName}}"
      proxy_batch_write_at: 1
    """);

Process? billing = null;
var exit = 0;
try
{
    var billingLog = Arg("--billing-log", "") is { Length: > 0 } logPath ? new StreamWriter(logPath) { AutoFlush = true } : null;
    Process StartBilling()
    {
        var start = new ProcessStartInfo("dotnet", $"{brokerDll} --role billing --config {configPath} {Arg("--billing-args", "")}")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        start.Environment["RABBITMQ_URL"] = rabbit.ToString();
        var process = Process.Start(start) ?? throw new InvalidOperationException("could not start the billing process");
        process.OutputDataReceived += (_, line) => { lock (start) { billingLog?.WriteLine(line.Data); } };
        process.ErrorDataReceived += (_, line) => { lock (start) { billingLog?.WriteLine(line.Data); } };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    billing = StartBilling();
    await WaitUntil(async () => await Scalar<long>(connection, "SELECT count(*) FROM information_schema.tables WHERE table_name = 'broker_spend_logs'") == 1,
        "the billing process did not migrate the database");
    await WaitUntil(() => QueueExists(rabbit, "billing.usage-recorded"), "the billing process did not declare its queue");
    await Exec(connection, """
        INSERT INTO broker_teams (team_id) SELECT 'team-' || i FROM generate_series(0, 9) i;
        INSERT INTO broker_users (user_id) SELECT 'user-' || i FROM generate_series(0, 19) i;
        INSERT INTO broker_keys (token_hash, key_name, user_id, team_id)
            SELECT 'key-' || i, 'sk-...' || i, 'user-' || (i % 20), 'team-' || (i % 10) FROM generate_series(0, 99) i;
        """);

    var events = Enumerable.Range(0, n).Select(Event).ToList();
    var expected = events.Sum(e => e.Cost!.Value);

    // the queue exists now: stop Billing, queue the whole backlog, start Billing and time how fast it drains into PostgreSQL
    billing.Kill(entireProcessTree: true);
    await billing.WaitForExitAsync();
    var bus = Bus.Factory.CreateUsingRabbitMq(cfg => cfg.Host(rabbit));
    await bus.StartAsync();
    var clock = Stopwatch.StartNew();
    try
    {
        using var gate = new SemaphoreSlim(64);
        await Task.WhenAll(events.Select(async e =>
        {
            await gate.WaitAsync();
            try
            {
                await bus.Publish(e);
            }
            finally
            {
                gate.Release();
            }
        }));
    }
    finally
    {
        await bus.StopAsync();
    }

    var published = clock.Elapsed;
    billing = StartBilling();
    long firstCount = 0;
    await WaitUntil(async () => (firstCount = await Scalar<long>(connection, "SELECT count(*) FROM broker_spend_logs")) > 0,
        "the billing process wrote nothing", TimeSpan.FromMinutes(2));
    var drain = Stopwatch.StartNew();
    await WaitUntil(async () => await Scalar<long>(connection, "SELECT count(*) FROM broker_spend_logs") >= n,
        "not every event was written", TimeSpan.FromMinutes(5));
    var written = drain.Elapsed;
    var total = await Scalar<decimal>(connection, "SELECT spend FROM broker_spend_totals WHERE entity_type = 'proxy' AND entity_id = 'global'");
    var keys = await Scalar<decimal>(connection, "SELECT sum(spend) FROM broker_keys");
    var exact = total == expected && keys == expected;
    if (!exact)
    {
        exit = 1;
    }

    var batchedRate = (n - firstCount) / written.TotalSeconds;

    // baseline: one transaction per event on the same server and schema
    var baseline = Enumerable.Range(n, baselineN).Select(Event).ToList();
    var perEvent = Stopwatch.StartNew();
    await using (var dataSource = NpgsqlDataSource.Create(connection))
    await using (var conn = await dataSource.OpenConnectionAsync())
    {
        foreach (var e in baseline)
        {
            await using var tx = await conn.BeginTransactionAsync();
            await using var batch = new NpgsqlBatch(conn, tx)
            {
                BatchCommands =
                {
                    Cmd("""
                        INSERT INTO broker_spend_logs (request_id, key_hash, user_id, team_id, model_group, deployment_id, provider, prompt_tokens,
                            completion_tokens, total_tokens, cost, start_time, end_time, latency_ms, status)
                        VALUES (@id, @key, @user, @team, 'bench', 'd', 'openai', 100, 20, 120, @cost, now(), now(), 1, 'success')
                        ON CONFLICT (request_id) DO NOTHING
                        """, e),
                    Cmd("UPDATE broker_keys SET spend = spend + @cost WHERE token_hash = @key", e),
                    Cmd("UPDATE broker_users SET spend = spend + @cost WHERE user_id = @user", e),
                    Cmd("UPDATE broker_teams SET spend = spend + @cost WHERE team_id = @team", e),
                    Cmd("""
                        INSERT INTO broker_spend_totals (entity_type, entity_id, spend) VALUES ('proxy', 'global', @cost)
                        ON CONFLICT (entity_type, entity_id) DO UPDATE SET spend = broker_spend_totals.spend + EXCLUDED.spend
                        """, e),
                },
            };
            await batch.ExecuteNonQueryAsync();
            await tx.CommitAsync();
        }
    }

    var baselineRate = baselineN / perEvent.Elapsed.TotalSeconds;
    Console.WriteLine("## Spend writes (one Billing process, `bench/SpendBench`)");
    Console.WriteLine();
    Console.WriteLine($"{n:N0} `UsageRecorded` events queued in RabbitMQ while Billing is stopped (100 keys, 20 users, 10 teams), then one `broker --role billing` started: timed from its first spend row until every event is a row in `broker_spend_logs` (batches of up to 500, binary COPY, one aggregated update per key/user/team/total per batch), polling the row count every 100 ms. Baseline: {baselineN:N0} events written by this program directly, one transaction per event (INSERT the row + UPDATE key, user, team + upsert the proxy total), on one connection — no bus in its path, so the ratio flatters the baseline.");
    Console.WriteLine();
    Console.WriteLine("| measurement | value |");
    Console.WriteLine("|---|---:|");
    Console.WriteLine($"| backlog published in (s) | {published.TotalSeconds:0.00} |");
    Console.WriteLine($"| backlog drained into PostgreSQL in (s) | {written.TotalSeconds:0.00} |");
    Console.WriteLine($"| **batched: events written / s** | {batchedRate:N0} |");
    Console.WriteLine($"| baseline, one transaction per event: events / s | {baselineRate:N0} |");
    Console.WriteLine($"| batched vs baseline | {batchedRate / baselineRate:0.0}× |");
    Console.WriteLine($"| proxy total = key totals = sum of costs (exact, decimal) | {(exact ? "yes" : $"NO: {total} / {keys} vs {expected}")} |");
    Console.WriteLine();
}
finally
{
    if (billing is not null && !billing.HasExited)
    {
        billing.Kill(entireProcessTree: true);
        await billing.WaitForExitAsync();
    }

    File.Delete(configPath);
    NpgsqlConnection.ClearAllPools();
    await Exec(admin, $"DROP DATABASE IF EXISTS \"{dbName}\" WITH (FORCE)");
}

return exit;

static UsageRecorded Event(int i) => new()
{
    RequestId = Guid.NewGuid(),
    ModelGroup = "bench",
    DeploymentId = "d",
    Provider = "openai",
    PromptTokens = 100,
    CompletionTokens = 20,
    LatencyMs = 1,
    Succeeded = true,
    CompletedAt = DateTimeOffset.UtcNow,
    Cost = 100 * 0.0000025m + 20 * 0.00001m + i % 7 * 0.0000001m,
    Caller = new Caller { KeyHash = $"key-{i % 100}", UserId = $"user-{i % 100 % 20}", TeamId = $"team-{i % 100 % 10}" },
};

static NpgsqlBatchCommand Cmd(string sql, UsageRecorded e) => new(sql)
{
    Parameters =
    {
        new NpgsqlParameter<Guid>("id", e.RequestId),
        new NpgsqlParameter<string>("key", e.Caller!.KeyHash!),
        new NpgsqlParameter<string>("user", e.Caller.UserId!),
        new NpgsqlParameter<string>("team", e.Caller.TeamId!),
        new NpgsqlParameter<decimal>("cost", e.Cost!.Value),
    },
};

static async Task Exec(string connectionString, string sql)
{
    await using var conn = new NpgsqlConnection(connectionString);
    await conn.OpenAsync();
    await using var command = new NpgsqlCommand(sql, conn);
    await command.ExecuteNonQueryAsync();
}

static async Task<T> Scalar<T>(string connectionString, string sql)
{
    await using var conn = new NpgsqlConnection(connectionString);
    await conn.OpenAsync();
    await using var command = new NpgsqlCommand(sql, conn);
    var value = await command.ExecuteScalarAsync();
    return value is null or DBNull ? default! : (T)Convert.ChangeType(value, typeof(T), CultureInfo.InvariantCulture);
}

static async Task<bool> QueueExists(Uri rabbit, string queue)
{
    var factory = new ConnectionFactory { Uri = rabbit };
    await using var conn = await factory.CreateConnectionAsync();
    await using var channel = await conn.CreateChannelAsync();
    try
    {
        await channel.QueueDeclarePassiveAsync(queue);
        return true;
    }
    catch (RabbitMQ.Client.Exceptions.OperationInterruptedException)
    {
        return false;
    }
}

static async Task WaitUntil(Func<Task<bool>> condition, string failure, TimeSpan? timeout = null)
{
    var clock = Stopwatch.StartNew();
    while (clock.Elapsed < (timeout ?? TimeSpan.FromSeconds(60)))
    {
        try
        {
            if (await condition())
            {
                return;
            }
        }
        catch (NpgsqlException)
        {
        }

        await Task.Delay(100);
    }

    throw new TimeoutException(failure);
}
