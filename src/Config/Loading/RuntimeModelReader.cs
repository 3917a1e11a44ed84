using System.Text.Json.Nodes;
using Broker.Config.Model;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Broker.Config.Loading;

/// <summary>
/// Reads runtime models (<see cref="RuntimeModelEntry"/>) with the same rules as config.yaml's model_list entries
/// (provider prefixes, <c>os.environ/</c> references, the provider's key variable, azure's api_base, ...), and merges
/// them into a config snapshot: config.yaml's deployments first, then the stored ones, grouped by model_name.
/// </summary>
public static class RuntimeModelReader
{
    /// <summary>The errors an entry would get in config.yaml's model_list (empty when it loads), with its paths.</summary>
    public static IReadOnlyList<string> Validate(RuntimeModelEntry entry, ProxyConfig fileConfig, Func<string, string?> getEnvironmentVariable)
    {
        ArgumentNullException.ThrowIfNull(entry);
        ArgumentNullException.ThrowIfNull(fileConfig);
        ArgumentNullException.ThrowIfNull(getEnvironmentVariable);
        var (_, errors) = Read(entry, fileConfig, getEnvironmentVariable);
        return errors;
    }

    /// <summary>
    /// <paramref name="fileConfig"/> with the entries that load added (each marked <see cref="ModelDeployment.DbModel"/>);
    /// an entry that does not load (an os.environ variable gone since, an id config.yaml uses) is left out and named in
    /// <paramref name="skipped"/> with its errors.
    /// </summary>
    public static ProxyConfig Merge(
        ProxyConfig fileConfig, IReadOnlyList<RuntimeModelEntry> entries, Func<string, string?> getEnvironmentVariable,
        out IReadOnlyList<(RuntimeModelEntry Entry, IReadOnlyList<string> Errors)> skipped)
    {
        ArgumentNullException.ThrowIfNull(fileConfig);
        ArgumentNullException.ThrowIfNull(entries);
        ArgumentNullException.ThrowIfNull(getEnvironmentVariable);
        var bad = new List<(RuntimeModelEntry, IReadOnlyList<string>)>();
        var deployments = new List<ModelDeployment>(fileConfig.ModelList);
        var ids = fileConfig.ModelList.Select(d => d.Id).ToHashSet(StringComparer.Ordinal);
        foreach (var entry in entries)
        {
            var (deployment, errors) = Read(entry, fileConfig, getEnvironmentVariable);
            if (deployment is null || errors.Count > 0)
            {
                bad.Add((entry, errors));
                continue;
            }

            if (!ids.Add(deployment.Id))
            {
                bad.Add((entry, [$"model_info.id: '{deployment.Id}' is already used by another model"]));
                continue;
            }

            deployments.Add(deployment with { Index = deployments.Count });
        }

        skipped = bad;
        if (deployments.Count == fileConfig.ModelList.Count)
        {
            return fileConfig;
        }

        var groups = deployments
            .GroupBy(d => d.ModelName, StringComparer.Ordinal)
            .Select(g => new ModelGroup { Name = g.Key, Deployments = g.ToList() })
            .ToList();
        return fileConfig with { ModelList = deployments, ModelGroups = groups };
    }

    private static (ModelDeployment? Deployment, IReadOnlyList<string> Errors) Read(
        RuntimeModelEntry entry, ProxyConfig fileConfig, Func<string, string?> getEnvironmentVariable)
    {
        JsonObject litellmParams;
        JsonObject modelInfo;
        try
        {
            litellmParams = JsonNode.Parse(entry.LitellmParams) as JsonObject ?? throw new System.Text.Json.JsonException();
            modelInfo = JsonNode.Parse(entry.ModelInfo) as JsonObject ?? throw new System.Text.Json.JsonException();
        }
        catch (System.Text.Json.JsonException)
        {
            return (null, ["litellm_params and model_info must be JSON objects"]);
        }

        modelInfo = (JsonObject)modelInfo.DeepClone();
        modelInfo["id"] = entry.Id;
        var document = new JsonObject
        {
            ["model_name"] = entry.ModelName,
            ["litellm_params"] = litellmParams.DeepClone(),
            ["model_info"] = modelInfo,
        };

        // JSON is YAML: the entry goes through the very reader config.yaml's model_list entries go through
        var context = new LoadContext("model", getEnvironmentVariable);
        foreach (var (name, value) in fileConfig.EnvironmentVariables)
        {
            context.SetOverlay(name, value);
        }

        var stream = new YamlStream();
        try
        {
            using var reader = new StringReader("[" + document.ToJsonString() + "]");
            stream.Load(reader);
        }
        catch (YamlException ex)
        {
            return (null, ["not readable: " + ex.Message]);
        }

        // a runtime model picks its own api_base: it may not read Broker's own secrets (checked before anything resolves them)
        var leaks = RuntimeModelSecrets.Check("litellm_params", litellmParams, fileConfig, context.GetEnv)
            .Concat(RuntimeModelSecrets.Check("model_info", modelInfo, fileConfig, context.GetEnv))
            .ToList();
        if (leaks.Count > 0)
        {
            return (null, leaks);
        }

        var deployments = ModelListReader.Read(new NodeConverter(context), stream.Documents[0].RootNode);
        // a model added at run time that could never be called is refused, not kept with a warning nobody sees: an
        // unknown provider without api_base, an azure entry without api_base
        var errors = context.Diagnostics
            .Where(d => d.Severity == ConfigSeverity.Error || (d.Severity == ConfigSeverity.Warning && CannotBeCalled(d)))
            .Select(d => (d.Path.StartsWith("model_list[0].", StringComparison.Ordinal) ? d.Path["model_list[0].".Length..] : d.Path) + ": " + d.Message)
            .ToList();
        var deployment = deployments.Count == 1 ? deployments[0] with { DbModel = true } : null;
        return (deployment, errors);
    }

    private static bool CannotBeCalled(ConfigDiagnostic diagnostic) =>
        diagnostic.Message.Contains(ModelListReader.CallsFail, StringComparison.Ordinal);
}
