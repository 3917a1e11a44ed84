using System.Text.RegularExpressions;

namespace Broker.Contracts.Tests;

/// <summary>
/// The tables each role's code touches are the ones docs/architecture.md ("Who owns which data") gives it: the ones it
/// owns, and the other roles' tables a row names it for. The migrations and the state copier (ServiceDefaults'
/// Database folder) create and copy every table and are not counted.
/// </summary>
public sealed partial class DataOwnershipTests
{
    private static readonly string[] Roles = ["Ingress", "Workers", "Billing", "ServiceDefaults"];

    [Fact]
    public void Tables_UsedByEachRole_AreTheOwnedOrTheListedOnes()
    {
        var root = RepositoryRoot();
        var tables = MigratedTables(root);
        var rows = OwnershipRows(root);

        Assert.NotEmpty(tables);
        Assert.Equal(tables.Order(StringComparer.Ordinal), rows.Keys.Order(StringComparer.Ordinal));
        foreach (var role in Roles)
        {
            var used = TablesUsedBy(root, role, tables);
            var allowed = rows.Where(r => r.Value.Owner == role || r.Value.AlsoUsedBy.Contains(role)).Select(r => r.Key).ToHashSet();
            var listedButUnused = rows.Where(r => r.Value.AlsoUsedBy.Contains(role) && !used.Contains(r.Key)).Select(r => r.Key);

            Assert.True(used.IsSubsetOf(allowed),
                $"{role} touches tables docs/architecture.md does not give it: {string.Join(", ", used.Except(allowed).Order(StringComparer.Ordinal))}");
            Assert.True(!listedButUnused.Any(), $"docs/architecture.md lists {role} as using tables it no longer touches: {string.Join(", ", listedButUnused)}");
        }
    }

    [Fact]
    public void Tables_EachRole_NeverTouchesAnotherRolesPrivateTable()
    {
        var root = RepositoryRoot();
        var rows = OwnershipRows(root);

        // the saga's state and Billing's bookkeeping of counted requests are nobody else's business
        Assert.Equal("Workers", rows["broker_retry_sagas"].Owner);
        Assert.Empty(rows["broker_retry_sagas"].AlsoUsedBy);
        Assert.Equal("Billing", rows["broker_spend_counted"].Owner);
        Assert.Empty(rows["broker_spend_counted"].AlsoUsedBy);
        Assert.DoesNotContain("broker_retry_sagas", TablesUsedBy(root, "Ingress", MigratedTables(root)));
        Assert.DoesNotContain("broker_spend_counted", TablesUsedBy(root, "Ingress", MigratedTables(root)));
    }

    [Fact]
    public void KeptAnswers_OwnedByWorkers_IngressOnlyReadsThem()
    {
        var root = RepositoryRoot();
        var text = File.ReadAllText(Path.Combine(root, "docs", "architecture.md"));
        var redis = text[text.IndexOf("## Who owns which data", StringComparison.Ordinal)..];

        // the answers kept for Idempotency-Key repeats: the Workers write them, an Ingress only reads them (KeptAnswers)
        Assert.Matches(KeptAnswersRow(), redis);
        Assert.NotEmpty(KeepCalls(root, "Workers"));
        Assert.Empty(KeepCalls(root, "Ingress"));
        Assert.Empty(KeepCalls(root, "Billing"));
    }

    /// <summary>Files of <paramref name="role"/> that write kept answers (<c>KeptAnswers.KeepAsync</c>).</summary>
    private static List<string> KeepCalls(string root, string role) =>
        Directory.EnumerateFiles(Path.Combine(root, "src", role), "*.cs", SearchOption.AllDirectories)
            .Where(f => !IsBuildOutput(f) && KeepCall().IsMatch(File.ReadAllText(f)))
            .ToList();

    private static HashSet<string> MigratedTables(string root) =>
        Directory.EnumerateFiles(Path.Combine(root, "src", "ServiceDefaults", "Database"), "*.sql", SearchOption.AllDirectories)
            .SelectMany(f => CreateTable().Matches(File.ReadAllText(f)).Select(m => m.Groups[1].Value))
            .ToHashSet(StringComparer.Ordinal);

    private static HashSet<string> TablesUsedBy(string root, string role, HashSet<string> tables)
    {
        var folder = Path.Combine(root, "src", role);
        var database = Path.Combine(folder, "Database") + Path.DirectorySeparatorChar;
        return Directory.EnumerateFiles(folder, "*.cs", SearchOption.AllDirectories)
            .Where(f => !IsBuildOutput(f) && !(role == "ServiceDefaults" && f.StartsWith(database, StringComparison.Ordinal)))
            .SelectMany(f => TableName().Matches(File.ReadAllText(f)).Select(m => m.Value))
            .Where(tables.Contains)
            .ToHashSet(StringComparer.Ordinal);
    }

    private static Dictionary<string, (string Owner, HashSet<string> AlsoUsedBy)> OwnershipRows(string root)
    {
        var text = File.ReadAllText(Path.Combine(root, "docs", "architecture.md"));
        var section = text[text.IndexOf("## Who owns which data", StringComparison.Ordinal)..];
        return OwnershipRow().Matches(section).ToDictionary(
            m => m.Groups["table"].Value,
            m => (m.Groups["owner"].Value, RoleMention().Matches(m.Groups["also"].Value).Select(r => r.Groups[1].Value).ToHashSet(StringComparer.Ordinal)),
            StringComparer.Ordinal);
    }

    private static bool IsBuildOutput(string path) =>
        path.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
        || path.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal);

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Broker.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("Broker.sln not found above " + AppContext.BaseDirectory);
    }

    [GeneratedRegex(@"CREATE TABLE (?:IF NOT EXISTS )?(broker_[a-z_]+)")]
    private static partial Regex CreateTable();

    [GeneratedRegex(@"\bbroker_[a-z_]+\b")]
    private static partial Regex TableName();

    [GeneratedRegex(@"^\| `(?<table>broker_[a-z_]+)` \| (?<owner>\w+) \|(?<also>[^\n]*)\|\s*$", RegexOptions.Multiline)]
    private static partial Regex OwnershipRow();

    [GeneratedRegex(@"\b(Ingress|Workers|Billing|ServiceDefaults):")]
    private static partial Regex RoleMention();

    [GeneratedRegex(@"^\| `answer:\*`[^|\n]*\| Workers \| Ingress: reads[^|\n]*\|\s*$", RegexOptions.Multiline)]
    private static partial Regex KeptAnswersRow();

    [GeneratedRegex(@"answers\.KeepAsync\(")]
    private static partial Regex KeepCall();
}
