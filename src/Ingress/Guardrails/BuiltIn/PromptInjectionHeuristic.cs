using System.Text.RegularExpressions;

namespace Broker.Ingress.Guardrails.BuiltIn;

/// <summary>
/// detect_prompt_injection's heuristic: weighted phrase patterns of instruction override, role hijack, prompt
/// extraction and fake role markers. The score combines the weights of the patterns found (1 - Π(1 - w)).
/// </summary>
public static partial class PromptInjectionHeuristic
{
    private static readonly (string Signal, double Weight, Regex Regex)[] Signals =
    [
        ("override_instructions", 0.9, OverrideRegex()),
        ("role_hijack", 0.7, HijackRegex()),
        ("prompt_extraction", 0.7, ExtractionRegex()),
        ("restrictions_off", 0.6, RestrictionsRegex()),
        ("jailbreak_persona", 0.6, PersonaRegex()),
        ("fake_role_marker", 0.4, MarkerRegex()),
        ("new_instructions", 0.35, NewInstructionsRegex()),
    ];

    /// <summary>The score (0..1) and the signals found in <paramref name="text"/>.</summary>
    public static (double Score, IReadOnlyList<string> Signals) Score(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var clean = 1.0;
        var found = new List<string>();
        foreach (var (signal, weight, regex) in Signals)
        {
            if (regex.IsMatch(text))
            {
                clean *= 1 - weight;
                found.Add(signal);
            }
        }

        return (1 - clean, found);
    }

    [GeneratedRegex(@"\b(?:ignore|disregard|forget|override|bypass|skip)\b[\w\s,'-]{0,30}?\b(?:previous|prior|above|earlier|preceding|all|any|your|the|system|original|initial)\b[\w\s,'-]{0,20}?\b(?:instructions?|rules|prompts?|directions|guidelines|directives|constraints|context)\b", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant, 250)]
    private static partial Regex OverrideRegex();

    [GeneratedRegex(@"\byou\s+are\s+(?:now|no\s+longer)\b[\w\s,'-]{0,40}?\b(?:DAN|unrestricted|unfiltered|jailbroken|free\s+from|developer\s+mode|an?\s+AI\s+without|not\s+bound|evil)", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant, 250)]
    private static partial Regex HijackRegex();

    [GeneratedRegex(@"\b(?:reveal|print|show|repeat|output|leak|display|tell\s+me|what\s+(?:is|are))\b[\w\s,'-]{0,20}?\b(?:your|the)\s+(?:system\s+prompt|hidden\s+(?:prompt|instructions)|initial\s+(?:prompt|instructions)|original\s+instructions|instructions\s+above|secret\s+instructions)", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant, 250)]
    private static partial Regex ExtractionRegex();

    [GeneratedRegex(@"\b(?:pretend|act|behave|respond|answer)\b[\w\s,'-]{0,40}?\b(?:no|without|free\s+of|not\s+bound\s+by)\s+(?:any\s+)?(?:restrictions|filters|rules|guidelines|limitations|censorship|content\s+polic(?:y|ies)|safety)", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant, 250)]
    private static partial Regex RestrictionsRegex();

    [GeneratedRegex(@"\b(?:do\s+anything\s+now|DAN\s+mode|developer\s+mode\s+(?:enabled|on|activated)|jailbreak(?:en|ed)?\s+mode|god\s+mode\s+(?:enabled|on))\b", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant, 250)]
    private static partial Regex PersonaRegex();

    [GeneratedRegex(@"(?:<\|?(?:im_start|system|endoftext)\|?>|\[/?INST\]|^\s*#{2,}\s*(?:system|instruction)s?\b|<\s*/?\s*system\s*>)", RegexOptions.IgnoreCase | RegexOptions.Multiline | RegexOptions.CultureInvariant, 250)]
    private static partial Regex MarkerRegex();

    [GeneratedRegex(@"\b(?:new|updated|real|actual)\s+(?:instructions|system\s+prompt|rules)\s*:", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant, 250)]
    private static partial Regex NewInstructionsRegex();
}
