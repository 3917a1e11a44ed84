namespace Broker.Host.Tests.Ui;

/// <summary>The admin UI browser test classes share one Broker and one browser (<see cref="AdminUiFixture"/>).</summary>
[CollectionDefinition(Name)]
public sealed class AdminUiCollection : ICollectionFixture<AdminUiFixture>
{
    public const string Name = "admin-ui";
}
