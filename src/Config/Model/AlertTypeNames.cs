using System.Collections.Frozen;

namespace Broker.Config.Model;

/// <summary>
/// general_settings.alert_types Broker knows: the kinds it raises, and LiteLLM's kinds it does not raise (loaded with
/// a warning). Billing's alert kinds are these names (a test keeps them in step).
/// </summary>
public static class AlertTypeNames
{
    /// <summary>true = raised by Broker; false = a LiteLLM kind Broker does not raise.</summary>
    public static FrozenDictionary<string, bool> Known { get; } = new Dictionary<string, bool>(StringComparer.Ordinal)
    {
        ["llm_exceptions"] = true,
        ["llm_too_slow"] = true,
        ["llm_requests_hanging"] = true,
        ["budget_alerts"] = true,
        ["db_exceptions"] = true,
        ["cooldown_deployment"] = true,
        ["spend_reports"] = true,
        ["failed_tracking_spend"] = true,
        ["dead_lettered_messages"] = true,
        ["daily_reports"] = false,
        ["outage_alerts"] = true,
        ["region_outage_alerts"] = true,
        ["fallback_reports"] = true,
        ["new_model_added"] = true,
        ["new_virtual_key_created"] = true,
        ["virtual_key_updated"] = true,
        ["virtual_key_deleted"] = true,
        ["new_team_created"] = true,
        ["team_updated"] = true,
        ["team_deleted"] = true,
        ["new_internal_user_created"] = true,
        ["internal_user_updated"] = true,
        ["internal_user_deleted"] = true,
    }.ToFrozenDictionary(StringComparer.Ordinal);

    public static IEnumerable<string> Raised => Known.Where(k => k.Value).Select(k => k.Key).Order(StringComparer.Ordinal);
}
