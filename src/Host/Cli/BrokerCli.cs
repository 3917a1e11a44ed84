using System.CommandLine;
using Broker.Config.Loading;
using Broker.Host.Composition;

namespace Broker.Host.Cli;

/// <summary>The <c>broker</c> command line: run roles (default) and <c>check-config</c>.</summary>
public static class BrokerCli
{
    public static Task<int> InvokeAsync(string[] args) => InvokeAsync(args, Console.Out, Console.Error, Environment.GetEnvironmentVariable);

    public static async Task<int> InvokeAsync(string[] args, TextWriter stdout, TextWriter stderr, Func<string, string?> getEnv)
    {
        ArgumentNullException.ThrowIfNull(getEnv);
        var root = new RootCommand("Broker: an LLM gateway that reads LiteLLM's config.yaml and runs every request through a durable queue.");
        var config = ConfigOption();
        var port = new Option<int>("--port", "-p")
        {
            Description = "HTTP port of the Ingress (default 4000, or $PORT)",
            DefaultValueFactory = _ => int.TryParse(getEnv("PORT"), out var p) ? p : 4000,
        };
        var host = new Option<string>("--host") { Description = "Address to listen on", DefaultValueFactory = _ => "0.0.0.0" };
        var role = new Option<string?>("--role") { Description = "ingress, workers or billing (comma-separated for several); needs RABBITMQ_URL. Default: all roles in one process" };
        var groups = new Option<string?>("--groups") { Description = "Workers: serve only these model groups (comma-separated)" };
        var numWorkers = new Option<int?>("--num_workers", "--num-workers") { Description = "Accepted for LiteLLM compatibility" };
        var concurrency = new Option<int?>("--concurrency") { Description = "Workers: at most N requests of each model group at once in this process (scale a group by adding processes)" };
        var debug = new Option<bool>("--debug", "--detailed_debug") { Description = "Debug logging" };
        foreach (var option in new Option[] { config, port, host, role, groups, numWorkers, concurrency, debug })
        {
            root.Options.Add(option);
        }

        root.SetAction(async (parse, cancellationToken) =>
        {
            var roles = ParseRoles(parse.GetValue(role), stderr);
            if (roles is null)
            {
                return 2;
            }

            var rabbit = getEnv("RABBITMQ_URL");
            Uri? rabbitUrl = null;
            if (!string.IsNullOrWhiteSpace(rabbit) && !Uri.TryCreate(rabbit, UriKind.Absolute, out rabbitUrl))
            {
                await stderr.WriteLineAsync($"error: RABBITMQ_URL is not a valid amqp:// URL");
                return 2;
            }

            var roleGiven = parse.GetValue(role) is not null;
            if (roleGiven && rabbitUrl is null)
            {
                await stderr.WriteLineAsync(
                    "error: --role needs RABBITMQ_URL (e.g. amqp://guest:guest@127.0.0.1:5672/): without it the bus is in-memory, " +
                    "which only works with every role in one process (run broker without --role).");
                return 2;
            }

            var options = new RunOptions
            {
                ConfigPath = parse.GetValue(config)!,
                Roles = roles.Value,
                RoleGiven = roleGiven,
                Host = parse.GetValue(host)!,
                Port = parse.GetValue(port),
                Groups = SplitList(parse.GetValue(groups)),
                NumWorkers = parse.GetValue(numWorkers),
                Concurrency = parse.GetValue(concurrency),
                Debug = parse.GetValue(debug),
                RabbitMqUrl = rabbitUrl,
            };
            return await RunAsync(options, stderr, getEnv, cancellationToken);
        });

        var checkConfig = new Command("check-config", "Load config.yaml, print its model groups and every problem; exit 0 only when it is usable");
        var checkConfigFile = ConfigOption();
        checkConfig.Options.Add(checkConfigFile);
        checkConfig.SetAction(async (parse, cancellationToken) =>
        {
            var result = await Secrets.SecretConfigLoader.LoadFileAsync(parse.GetValue(checkConfigFile)!, getEnv, cancellationToken);
            await stdout.WriteAsync(ConfigReport.Render(result));
            return result.IsUsable ? 0 : 1;
        });
        root.Subcommands.Add(checkConfig);

        var deploy = new Command("deploy", "Generate deployment files");
        var kubernetes = new Command("kubernetes", "Kubernetes manifests with a KEDA ScaledObject per model group (stdout, or one file with --output)");
        var kubernetesConfig = ConfigOption();
        var output = new Option<string?>("--output", "-o") { Description = "Write the manifests to this file (its folder is created) instead of stdout" };
        var image = new Option<string>("--image") { Description = "Broker image", DefaultValueFactory = _ => "broker:latest" };
        var ns = new Option<string>("--namespace") { Description = "Kubernetes namespace", DefaultValueFactory = _ => "broker" };
        var maxReplicas = new Option<int>("--max-replicas") { Description = "Most worker replicas per model group", DefaultValueFactory = _ => 10 };
        foreach (var option in new Option[] { kubernetesConfig, output, image, ns, maxReplicas })
        {
            kubernetes.Options.Add(option);
        }

        kubernetes.SetAction(async (parse, cancellationToken) =>
        {
            var path = parse.GetValue(kubernetesConfig)!;
            var result = ProxyConfigLoader.LoadFile(path, getEnv);
            if (!result.IsUsable)
            {
                await stderr.WriteAsync(ConfigReport.Render(result));
                return 1;
            }

            var yaml = Deploy.KubernetesManifests.Render(result.Config!, await File.ReadAllTextAsync(path, cancellationToken),
                new Deploy.KubernetesManifests.Options(parse.GetValue(image)!, parse.GetValue(ns)!, parse.GetValue(maxReplicas)));
            if (parse.GetValue(output) is { } file)
            {
                Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(file))!);
                await File.WriteAllTextAsync(file, yaml, cancellationToken);
                await stdout.WriteLineAsync($"wrote {file}");
            }
            else
            {
                await stdout.WriteAsync(yaml);
            }

            return 0;
        });
        deploy.Subcommands.Add(kubernetes);
        root.Subcommands.Add(deploy);
        ManagementCommands.Add(root, stdout, stderr, getEnv);

        root.Subcommands.Add(SpendCommand.Create(stdout, stderr, getEnv));
        root.Subcommands.Add(ReloadCommand.Create(stdout, stderr, getEnv));
        root.Subcommands.Add(ReplayErrorsCommand.Create(stdout, stderr, getEnv));
        root.Subcommands.Add(MigrateQueuesCommand.Create(stdout, stderr, getEnv, ConfigOption()));
        root.Subcommands.Add(MigrateDbCommand.Create(stdout, stderr, getEnv));

        var parsed = root.Parse(args);
        return await parsed.InvokeAsync(new InvocationConfiguration { Output = stdout, Error = stderr });
    }

    private static async Task<int> RunAsync(RunOptions options, TextWriter stderr, Func<string, string?> getEnv, CancellationToken cancellationToken)
    {
        var loaded = await Secrets.SecretConfigLoader.LoadFileAsync(options.ConfigPath, getEnv, cancellationToken);
        if (!loaded.IsUsable)
        {
            foreach (var error in loaded.Errors)
            {
                await stderr.WriteLineAsync(error.ToString());
            }

            await stderr.WriteLineAsync($"error: {options.ConfigPath} is not usable ({loaded.Errors.Count()} error(s)); `broker check-config --config {options.ConfigPath}` shows the details");
            return 1;
        }

        if (Broker.ServiceDefaults.Database.DatabaseRegistration.DistributedError(loaded.Config!.GeneralSettings.DatabaseUrl?.Value, options.RoleGiven) is { } storeError)
        {
            await stderr.WriteLineAsync("error: " + storeError);
            return 2;
        }

        foreach (var (name, value) in loaded.Config!.EnvironmentVariables)
        {
            Environment.SetEnvironmentVariable(name, value);
        }

        IHost app;
        try
        {
            app = BrokerApp.Build(options, loaded);
        }
        catch (Broker.ServiceDefaults.Options.InvalidHostSettingsException ex)
        {
            foreach (var problem in ex.Problems)
            {
                await stderr.WriteLineAsync("error: " + problem);
            }

            await stderr.WriteLineAsync($"error: {ex.Problems.Count} host setting(s) are invalid (appsettings.json or environment variables such as Ingress__DrainSeconds); see docs/operations.md#host-settings");
            return 1;
        }

        using (app)
        {
            await app.RunAsync(cancellationToken);
        }

        return 0;
    }

    private static Option<string> ConfigOption() => new("--config", "-c")
    {
        Description = "Path to LiteLLM's config.yaml",
        DefaultValueFactory = _ => "config.yaml",
    };

    private static BrokerRoles? ParseRoles(string? value, TextWriter stderr)
    {
        if (value is null)
        {
            return BrokerRoles.All;
        }

        var roles = BrokerRoles.None;
        foreach (var name in SplitList(value))
        {
            roles |= name.ToLowerInvariant() switch
            {
                "ingress" => BrokerRoles.Ingress,
                "workers" or "worker" => BrokerRoles.Workers,
                "billing" => BrokerRoles.Billing,
                "all" => BrokerRoles.All,
                _ => BrokerRoles.None,
            };
            if (name.ToLowerInvariant() is not ("ingress" or "workers" or "worker" or "billing" or "all"))
            {
                stderr.WriteLine($"error: unknown role '{name}' (expected ingress, workers or billing)");
                return null;
            }
        }

        return roles == BrokerRoles.None ? BrokerRoles.All : roles;
    }

    private static string[] SplitList(string? value) =>
        value?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries) ?? [];
}
