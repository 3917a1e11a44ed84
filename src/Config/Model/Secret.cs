namespace Broker.Config.Model;

/// <summary>A secret string (API key, password) that never prints itself: <c>ToString()</c> gives <c>sk-...abcd</c>.</summary>
public sealed record Secret(string Value)
{
    /// <summary>Redacted form: the first three characters (when they look like a prefix) and the last four.</summary>
    public static string Redact(string? value)
    {
        if (string.IsNullOrEmpty(value))
        {
            return "";
        }

        if (value.Length <= 8)
        {
            return "****";
        }

        var prefix = value.StartsWith("sk-", StringComparison.Ordinal) ? "sk-" : "";
        return $"{prefix}...{value[^4..]}";
    }

    public override string ToString() => Redact(Value);
}
