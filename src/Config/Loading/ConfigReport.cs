using System.Text;

namespace Broker.Config.Loading;

/// <summary>Human-readable summary for <c>broker check-config</c>.</summary>
public static class ConfigReport
{
    /// <summary>Model groups, their deployments (secrets redacted), then every diagnostic, one per line.</summary>
    public static string Render(ConfigLoadResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        var sb = new StringBuilder();
        if (result.Config is { } config)
        {
            sb.Append("Model groups (").Append(config.ModelGroups.Count).Append("):\n");
            foreach (var group in config.ModelGroups)
            {
                sb.Append("  ").Append(group.Name).Append("  queue ").Append(group.QueueName).Append('\n');
                foreach (var d in group.Deployments)
                {
                    sb.Append("    - ").Append(d.Model).Append("  id ").Append(d.Id);
                    if (d.ApiBase is not null)
                    {
                        sb.Append("  api_base ").Append(d.ApiBase);
                    }

                    if (d.ApiKey is not null)
                    {
                        sb.Append("  api_key ").Append(d.ApiKey.ToString());
                    }

                    if (d.MockResponse is not null)
                    {
                        sb.Append("  mock_response");
                    }

                    sb.Append('\n');
                }
            }

            var aliases = config.RouterSettings.ModelGroupAlias;
            if (aliases.Count > 0)
            {
                sb.Append("Aliases (").Append(aliases.Count).Append("):\n");
                foreach (var (alias, target) in aliases)
                {
                    sb.Append("  ").Append(alias).Append(" -> ").Append(target).Append('\n');
                }
            }
        }
        else
        {
            sb.Append("Model groups: none (the file could not be loaded)\n");
        }

        var ordered = result.Diagnostics.OrderBy(d => d.Line).ThenBy(d => d.Column).ToList();
        Section(sb, "Errors", ordered.Where(d => d.Severity == ConfigSeverity.Error).ToList());
        Section(sb, "Warnings", ordered.Where(d => d.Severity == ConfigSeverity.Warning).ToList());
        Section(sb, "Not active yet", ordered.Where(d => d.Severity == ConfigSeverity.Info).ToList());

        var errors = result.Errors.Count();
        sb.Append(result.IsUsable ? "Config is usable." : $"Config has {errors} error(s): not usable.").Append('\n');
        return sb.ToString();
    }

    private static void Section(StringBuilder sb, string title, List<ConfigDiagnostic> diagnostics)
    {
        if (diagnostics.Count == 0)
        {
            return;
        }

        sb.Append(title).Append(" (").Append(diagnostics.Count).Append("):\n");
        foreach (var d in diagnostics)
        {
            sb.Append("  ").Append(d.ToString()).Append('\n');
        }
    }
}
