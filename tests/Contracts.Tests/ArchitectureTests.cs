using System.Reflection;
using Broker.Contracts.Inference;

namespace Broker.Contracts.Tests;

/// <summary>The dependency rules of STYLE.md: roles never reference each other; Contracts and Config reference nothing of ours.</summary>
public sealed class ArchitectureTests
{
    private static readonly string[] Roles = ["Broker.Ingress", "Broker.Workers", "Broker.Billing"];

    private static Assembly Load(string name) => Assembly.Load(new AssemblyName(name));

    private static IEnumerable<string> BrokerReferences(string assembly) =>
        Load(assembly).GetReferencedAssemblies().Select(a => a.Name!).Where(n => n.StartsWith("Broker.", StringComparison.Ordinal));

    [Fact]
    public void Roles_References_NeverIncludeAnotherRole()
    {
        foreach (var role in Roles)
        {
            var references = BrokerReferences(role).ToList();
            Assert.Empty(references.Intersect(Roles));
            Assert.Contains("Broker.Contracts", references);
        }
    }

    [Fact]
    public void ContractsAndConfig_References_IncludeNothingOfOurs()
    {
        Assert.Empty(BrokerReferences("Broker.Contracts"));
        Assert.Empty(BrokerReferences("Broker.Config"));
    }

    [Fact]
    public void Host_References_ComposeAllRoles()
    {
        var references = Load("broker").GetReferencedAssemblies().Select(a => a.Name).ToList();
        Assert.All(Roles, role => Assert.Contains(role, references));
    }

    [Fact]
    public void Messages_Shape_AreSealedRecordsWithRequestIdFirst()
    {
        var messages = typeof(CreateChatCompletion).Assembly.GetTypes()
            .Where(t => t.IsPublic && t.IsClass && t.Namespace!.StartsWith("Broker.Contracts", StringComparison.Ordinal) && t.GetProperty("RequestId") is not null)
            .ToList();

        Assert.NotEmpty(messages);
        foreach (var message in messages)
        {
            Assert.True(message.IsSealed, $"{message.Name} is not sealed");
            Assert.NotNull(message.GetMethod("<Clone>$"));
            Assert.Equal("RequestId", message.GetProperties()[0].Name);
            Assert.Equal(typeof(Guid), message.GetProperty("RequestId")!.PropertyType);
        }
    }
}
