namespace Broker.Config.Model;

/// <summary>
/// One configured guardrail: the top-level <c>guardrails:</c> form (<c>guardrail_name</c> + <c>litellm_params</c>) or
/// the seed's <c>litellm_settings.guardrails</c> form (<c>{name: {callbacks: [kind], default_on}}</c>, one definition
/// per callback).
/// </summary>
public sealed record GuardrailDefinition
{
    /// <summary>guardrail_name: what requests and keys select it by.</summary>
    public required string Name { get; init; }

    /// <summary>The kind (<see cref="GuardrailTypes"/>), normalized.</summary>
    public required string Guardrail { get; init; }

    public GuardrailModes Modes { get; init; } = GuardrailModes.PreCall;

    /// <summary>default_on: runs on every request without being asked for.</summary>
    public bool DefaultOn { get; init; }

    /// <summary>api_base of an external guardrail (Lakera, the generic API; Presidio has two, see <see cref="Params"/>).</summary>
    public string? ApiBase { get; init; }

    public Secret? ApiKey { get; init; }

    /// <summary>Presidio: presidio_analyzer_api_base.</summary>
    public string? AnalyzerApiBase { get; init; }

    /// <summary>Presidio: presidio_anonymizer_api_base.</summary>
    public string? AnonymizerApiBase { get; init; }

    /// <summary>Presidio: output_parse_pii — the placeholders are replaced back in the answer.</summary>
    public bool OutputParsePii { get; init; }

    /// <summary>Presidio: presidio_language (default en).</summary>
    public string Language { get; init; } = "en";

    /// <summary>detect_prompt_injection: the heuristic score (0..1) at which a request is blocked (default 0.5).</summary>
    public double Threshold { get; init; } = 0.5;

    /// <summary>Other litellm_params (e.g. additional_provider_specific_params for the generic API), as loaded.</summary>
    public IReadOnlyDictionary<string, object?> Params { get; init; } = new Dictionary<string, object?>();
}
