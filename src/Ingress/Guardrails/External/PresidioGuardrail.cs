using System.Text;
using System.Text.Json.Nodes;
using Broker.Config.Model;

namespace Broker.Ingress.Guardrails.External;

/// <summary>
/// presidio: each text goes to Presidio's analyzer (<c>POST /analyze</c>) and, when it found entities, to the
/// anonymizer (<c>POST /anonymize</c>), whose text replaces it. With output_parse_pii the replacements become numbered
/// placeholders (<c>[EMAIL_ADDRESS_1]</c>) that the answer gets the originals back for.
/// </summary>
public sealed class PresidioGuardrail(IHttpClientFactory clients) : IGuardrail
{
    public string Kind => GuardrailTypes.Presidio;

    public async Task<GuardrailVerdict> RunAsync(GuardrailCall call, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(call);
        var d = call.Definition;
        if (d.AnalyzerApiBase is null || d.AnonymizerApiBase is null)
        {
            return GuardrailVerdict.Unavailable("Presidio: presidio_analyzer_api_base / presidio_anonymizer_api_base are not set");
        }

        var changed = false;
        var result = new List<string>(call.Texts.Count);
        foreach (var text in call.Texts)
        {
            if (text.Length == 0)
            {
                result.Add(text);
                continue;
            }

            var (analyzed, failure) = await GuardrailHttp.PostAsync(clients, GuardrailHttp.Join(d.AnalyzerApiBase, "/analyze"),
                new JsonObject { ["text"] = text, ["language"] = d.Language }, d.ApiKey, cancellationToken);
            if (failure is not null || analyzed is not JsonArray entities)
            {
                return GuardrailVerdict.Unavailable("Presidio analyzer: " + (failure ?? "the answer is not a list"));
            }

            if (entities.Count == 0)
            {
                result.Add(text);
                continue;
            }

            var (anonymized, anonymizeFailure) = await GuardrailHttp.PostAsync(clients, GuardrailHttp.Join(d.AnonymizerApiBase, "/anonymize"),
                new JsonObject { ["text"] = text, ["analyzer_results"] = entities.DeepClone() }, d.ApiKey, cancellationToken);
            if (anonymizeFailure is not null || anonymized?["text"] is not JsonValue newText)
            {
                return GuardrailVerdict.Unavailable("Presidio anonymizer: " + (anonymizeFailure ?? "the answer has no 'text'"));
            }

            var masked = newText.GetValue<string>();
            if (d.OutputParsePii && anonymized["items"] is JsonArray items)
            {
                masked = Reversible(text, masked, entities, items, call.Session);
            }

            changed |= !string.Equals(masked, text, StringComparison.Ordinal);
            result.Add(masked);
        }

        return changed ? GuardrailVerdict.Masked(result) : GuardrailVerdict.Allow;
    }

    /// <summary>
    /// The anonymized text with each replaced item numbered (<c>&lt;PERSON&gt;</c> → <c>[PERSON_1]</c>) and remembered
    /// with the original it stands for: items and analyzer results are paired in text order.
    /// </summary>
    private static string Reversible(string original, string anonymized, JsonArray entities, JsonArray items, GuardrailSession session)
    {
        var sources = entities.OfType<JsonObject>()
            .Select(e => (Start: e["start"]?.GetValue<int>() ?? 0, End: e["end"]?.GetValue<int>() ?? 0, Type: e["entity_type"]?.GetValue<string>() ?? "PII"))
            .OrderBy(e => e.Start)
            .ToList();
        var replaced = items.OfType<JsonObject>()
            .Select(i => (Start: i["start"]?.GetValue<int>() ?? 0, End: i["end"]?.GetValue<int>() ?? 0, Type: i["entity_type"]?.GetValue<string>() ?? "PII"))
            .OrderBy(i => i.Start)
            .ToList();
        if (sources.Count != replaced.Count)
        {
            return anonymized;
        }

        var sb = new StringBuilder(anonymized.Length);
        var at = 0;
        for (var i = 0; i < replaced.Count; i++)
        {
            var (start, end, type) = replaced[i];
            var source = sources[i];
            if (start < at || end > anonymized.Length || source.End > original.Length || source.Start > source.End)
            {
                return anonymized;
            }

            var value = original[source.Start..source.End];
            var placeholder = session.Placeholder(type, value);
            sb.Append(anonymized, at, start - at).Append(placeholder);
            at = end;
        }

        return sb.Append(anonymized, at, anonymized.Length - at).ToString();
    }
}
