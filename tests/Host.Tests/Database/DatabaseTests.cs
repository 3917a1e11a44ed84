using System.Net.Http.Json;
using System.Text.Json;
using Broker.Host.Tests.Infrastructure;
using Broker.ServiceDefaults.Database;
using Broker.TestKit;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;

namespace Broker.Host.Tests.Database;

public sealed class DatabaseTests
{
    [Fact]
    public void ConnectionString_LiteLlmUrl_BecomesNpgsqlWithPoolLimitAndTimeout()
    {
        var cs = new NpgsqlConnectionStringBuilder(DatabaseConnectionString.From(
            "postgresql://llm%40user:p%3Ass@db.example:6543/litellm?sslmode=require&schema=public", 7, TimeSpan.FromSeconds(3)));

        Assert.Equal("db.example", cs.Host);
        Assert.Equal(6543, cs.Port);
        Assert.Equal("litellm", cs.Database);
        Assert.Equal("llm@user", cs.Username);
        Assert.Equal("p:ss", cs.Password);
        Assert.Equal(SslMode.Require, cs.SslMode);
        Assert.Equal(7, cs.MaxPoolSize);
        Assert.Equal(3, cs.Timeout);
    }

    [Fact]
    public void ConnectionString_NotPostgres_Throws() =>
        Assert.Throws<FormatException>(() => DatabaseConnectionString.From("mysql://u:p@h/db", null, null));

    [Fact]
    public async Task Migrate_FourProcessesAtOnce_EachScriptRunsOnceAndSchemaExists()
    {
        await using var db = await TestDatabase.CreateAsync();
        var databases = Enumerable.Range(0, 4).Select(_ => new BrokerDatabase(db.ConnectionString)).ToList();
        try
        {
            await Task.WhenAll(databases.Select(d =>
                new DatabaseMigrator(d, NullLogger<DatabaseMigrator>.Instance, TimeProvider.System).MigrateAsync(CancellationToken.None)));

            Assert.All(databases, d => Assert.True(d.IsMigrated));
            var scripts = Directory.GetFiles(Path.Combine(RepoRoot(), "src/ServiceDefaults/Database/Migrations"), "*.sql").Length;
            Assert.Equal(scripts, await db.ScalarAsync<long>("SELECT count(*) FROM broker_schema_versions"));
            Assert.Equal(scripts, await db.ScalarAsync<long>("SELECT count(DISTINCT scriptname) FROM broker_schema_versions"));
            Assert.Equal(0L, await db.ScalarAsync<long>("SELECT count(*) FROM broker_keys"));
        }
        finally
        {
            foreach (var d in databases)
            {
                await d.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task Readiness_WithDatabaseUrl_ReportsDatabaseHealthyAfterMigrations()
    {
        await using var db = await TestDatabase.CreateAsync();
        await using var broker = await BrokerRunner.StartEmbeddedAsync($$"""
            model_list:
              - model_name: m
                litellm_params: { model: openai/gpt-4o, api_base: "http://127.0.0.1:9/v1", api_key: k }
            general_settings:
              database_url: "{{db.Url}}"
            """);

        using var response = await broker.Http.GetAsync("/health/readiness");
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();

        Assert.Equal("healthy", body.GetProperty("checks").GetProperty("database").GetString());
        Assert.Equal(1L, await db.ScalarAsync<long>("SELECT count(*) FROM information_schema.tables WHERE table_name = 'broker_keys'"));
    }

    private static string RepoRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Broker.sln")))
        {
            dir = dir.Parent;
        }

        return dir?.FullName ?? throw new InvalidOperationException("Broker.sln not found above " + AppContext.BaseDirectory);
    }
}
