namespace Broker.Config.Loading;

/// <summary>Human-readable summary for <c>broker check-config</c>.</summary>
public static class ConfigReport
{
    /// <summary>Model groups, their deployments (secrets redacted), then every diagnostic, one per line.</summary>
    public static string Render(ConfigLoadResult result) => throw new NotImplementedException();
}
