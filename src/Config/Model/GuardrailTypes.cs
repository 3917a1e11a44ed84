using System.Collections.Frozen;

namespace Broker.Config.Model;

/// <summary>The guardrail kinds Broker runs (<c>litellm_params.guardrail</c>, or a seed-form <c>callbacks</c> entry).</summary>
public static class GuardrailTypes
{
    public const string HideSecrets = "hide_secrets";

    public const string PiiMasking = "pii_masking";

    public const string DetectPromptInjection = "detect_prompt_injection";

    public const string Lakera = "lakera_prompt_injection";

    public const string Presidio = "presidio";

    public const string GenericApi = "generic_guardrail_api";

    /// <summary>Accepted spellings → the kind they name.</summary>
    public static FrozenDictionary<string, string> Aliases { get; } = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase)
    {
        [HideSecrets] = HideSecrets,
        ["hide-secrets"] = HideSecrets,
        [PiiMasking] = PiiMasking,
        [DetectPromptInjection] = DetectPromptInjection,
        [Lakera] = Lakera,
        ["lakera"] = Lakera,
        ["lakera_v2"] = Lakera,
        [Presidio] = Presidio,
        [GenericApi] = GenericApi,
    }.ToFrozenDictionary(StringComparer.OrdinalIgnoreCase);

    /// <summary>Kinds that rewrite text (mask): they run before the call or on the answer, never beside the call.</summary>
    public static bool Rewrites(string type) => type is HideSecrets or PiiMasking or Presidio;

    /// <summary>Kinds that call an HTTP service.</summary>
    public static bool IsExternal(string type) => type is Lakera or Presidio or GenericApi;

    /// <summary>The kind <paramref name="name"/> names, or null when Broker has no such guardrail.</summary>
    public static string? Normalize(string name) => Aliases.GetValueOrDefault(name.Trim());
}
