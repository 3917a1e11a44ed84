using Broker.Host.Cli;

namespace Broker.Host.Tests.Cli;

public sealed class BrokerCliTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("broker-cli-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Write(string yaml)
    {
        var path = Path.Combine(_dir, "config.yaml");
        File.WriteAllText(path, yaml);
        return path;
    }

    private static async Task<(int Code, string Out, string Err)> RunAsync(string[] args, Dictionary<string, string>? env = null)
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var code = await BrokerCli.InvokeAsync(args, stdout, stderr, n => env is not null && env.TryGetValue(n, out var v) ? v : null);
        return (code, stdout.ToString(), stderr.ToString());
    }

    [Fact]
    public async Task CheckConfig_UsableFile_PrintsGroupsRedactsSecretsAndExitsZero()
    {
        var path = Write("""
            model_list:
              - model_name: gpt-4o
                litellm_params:
                  model: openai/gpt-4o
                  api_key: os.environ/MY_OPENAI_KEY
            """);

        var (code, output, _) = await RunAsync(["check-config", "--config", path], new() { ["MY_OPENAI_KEY"] = "sk-proj-supersecretvalue9876" });

        Assert.Equal(0, code);
        Assert.Contains("gpt-4o", output, StringComparison.Ordinal);
        Assert.Contains("model-group.gpt-4o", output, StringComparison.Ordinal);
        Assert.Contains("sk-...9876", output, StringComparison.Ordinal);
        Assert.DoesNotContain("supersecret", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CheckConfig_BrokenFile_ListsEveryErrorWithPositionAndExitsOne()
    {
        var path = Write("""
            model_list:
              - model_name: a
                litellm_params:
                  model: notaprovider/x
              - model_name: b
                litellm_params:
                  api_key: os.environ/MISSING_KEY
            router_settings:
              num_retries: three
            """);

        var (code, output, _) = await RunAsync(["check-config", "--config", path]);

        Assert.Equal(1, code);
        Assert.Contains("config.yaml:4:", output, StringComparison.Ordinal);
        Assert.Contains("unknown provider 'notaprovider'", output, StringComparison.Ordinal);
        Assert.Contains("model_list[1].litellm_params.model", output, StringComparison.Ordinal);
        Assert.Contains("MISSING_KEY", output, StringComparison.Ordinal);
        Assert.Contains("router_settings.num_retries", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Run_BrokenConfig_ExitsOneWithErrorsOnStderr()
    {
        var path = Write("model_list:\n  - model_name: a\n");

        var (code, _, err) = await RunAsync(["--config", path]);

        Assert.Equal(1, code);
        Assert.Contains("model_list[0].litellm_params", err, StringComparison.Ordinal);
        Assert.Contains("is not usable", err, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Run_RoleWithoutRabbitMqUrl_ExitsTwoAndSaysWhy()
    {
        var path = Write("model_list:\n  - model_name: a\n    litellm_params:\n      model: openai/a\n      mock_response: hi\n");

        var (code, _, err) = await RunAsync(["--role", "workers", "--config", path]);

        Assert.Equal(2, code);
        Assert.Contains("--role needs RABBITMQ_URL", err, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Run_UnknownRole_ExitsTwo()
    {
        var path = Write("model_list: []\n");

        var (code, _, err) = await RunAsync(["--role", "router", "--config", path], new() { ["RABBITMQ_URL"] = "amqp://guest:guest@127.0.0.1:5672/" });

        Assert.Equal(2, code);
        Assert.Contains("unknown role 'router'", err, StringComparison.Ordinal);
    }
}
