using Broker.Config.Loading;
using Broker.Host.Cli;
using Broker.Host.Deploy;
using YamlDotNet.RepresentationModel;

namespace Broker.Host.Tests.Cli;

/// <summary><c>broker deploy kubernetes</c>: the manifests parse, and each group's ScaledObject has what KEDA needs.</summary>
public sealed class DeployKubernetesTests
{
    private static string RepoRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Broker.sln")))
        {
            dir = dir.Parent;
        }

        return dir!.FullName;
    }

    private static List<YamlMappingNode> Documents(string yaml)
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(yaml));
        return stream.Documents.Select(d => d.RootNode).OfType<YamlMappingNode>().ToList();
    }

    private static string Scalar(YamlNode node, params string[] path)
    {
        foreach (var key in path)
        {
            node = ((YamlMappingNode)node).Children[new YamlScalarNode(key)];
        }

        return ((YamlScalarNode)node).Value!;
    }

    [Fact]
    public async Task DeployKubernetes_RepoConfig_ScaledObjectPerGroupWithKedaFields()
    {
        var configPath = Path.Combine(RepoRoot(), "config.yaml");
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();

        var code = await BrokerCli.InvokeAsync(["deploy", "kubernetes", "--config", configPath, "--image", "registry.local/broker:1.0"], stdout, stderr, _ => null);

        Assert.Equal(0, code);
        var docs = Documents(stdout.ToString());
        var config = ProxyConfigLoader.LoadFile(configPath, _ => null).Config!;
        var deployments = docs.Where(d => Scalar(d, "kind") == "Deployment").ToDictionary(d => Scalar(d, "metadata", "name"));
        var scaled = docs.Where(d => Scalar(d, "kind") == "ScaledObject").ToList();
        var auth = Assert.Single(docs, d => Scalar(d, "kind") == "TriggerAuthentication");
        var secret = Assert.Single(docs, d => Scalar(d, "kind") == "Secret");
        Assert.Equal(config.ModelGroups.Count, scaled.Count);
        Assert.Contains("broker-ingress", deployments.Keys);
        Assert.Contains("broker-billing", deployments.Keys);

        foreach (var group in config.ModelGroups)
        {
            var name = KubernetesManifests.WorkerDeploymentName(group);
            var so = Assert.Single(scaled, s => Scalar(s, "metadata", "name") == name);
            Assert.Equal("keda.sh/v1alpha1", Scalar(so, "apiVersion"));
            Assert.True(deployments.ContainsKey(Scalar(so, "spec", "scaleTargetRef", "name")), "scaleTargetRef names no Deployment");
            var trigger = (YamlMappingNode)((YamlSequenceNode)((YamlMappingNode)so["spec"])["triggers"])[0];
            Assert.Equal("rabbitmq", Scalar(trigger, "type"));
            Assert.Equal(group.QueueName, Scalar(trigger, "metadata", "queueName"));
            Assert.Equal("QueueLength", Scalar(trigger, "metadata", "mode"));
            var value = (YamlScalarNode)((YamlMappingNode)trigger["metadata"])["value"];
            Assert.True(int.Parse(value.Value!, System.Globalization.CultureInfo.InvariantCulture) > 0);
            Assert.Equal(YamlDotNet.Core.ScalarStyle.DoubleQuoted, value.Style); // KEDA's metadata is strings
            Assert.Equal(Scalar(auth, "metadata", "name"), Scalar(trigger, "authenticationRef", "name"));

            var args = ((YamlSequenceNode)((YamlMappingNode)((YamlSequenceNode)((YamlMappingNode)((YamlMappingNode)((YamlMappingNode)deployments[name]["spec"])["template"])["spec"])["containers"])[0])["args"])
                .Select(a => ((YamlScalarNode)a).Value).ToList();
            Assert.Equal(["--role", "workers", "--groups", group.Name], args.Take(4));
        }

        var secretRef = (YamlMappingNode)((YamlSequenceNode)((YamlMappingNode)auth["spec"])["secretTargetRef"])[0];
        Assert.Equal("host", Scalar(secretRef, "parameter"));
        Assert.Equal(Scalar(secret, "metadata", "name"), Scalar(secretRef, "name"));
        Assert.True(((YamlMappingNode)secret["stringData"]).Children.ContainsKey(new YamlScalarNode(Scalar(secretRef, "key"))));
    }

    [Fact]
    public async Task DeployKubernetes_CommittedManifests_MatchTheRepoConfig()
    {
        var root = RepoRoot();
        using var stdout = new StringWriter();

        var code = await BrokerCli.InvokeAsync(["deploy", "kubernetes", "--config", Path.Combine(root, "config.yaml")], stdout, new StringWriter(), _ => null);

        Assert.Equal(0, code);
        var committed = await File.ReadAllTextAsync(Path.Combine(root, "deploy", "kubernetes", "broker.yaml"));
        Assert.True(committed == stdout.ToString(),
            "deploy/kubernetes/broker.yaml is stale: run `dotnet run --project src/Host -- deploy kubernetes --config config.yaml -o deploy/kubernetes/broker.yaml`");
    }
}
