using System.Text;
using Broker.Config.Model;

namespace Broker.Ingress.Guardrails.BuiltIn;

/// <summary>
/// pii_masking: e-mails, phone numbers, card numbers and IBANs (<see cref="PiiPatterns"/>) become reversible placeholders
/// (<c>[EMAIL_1]</c>) before the provider sees them; the answer gets the originals back (<see cref="GuardrailSession.Unmask"/>).
/// </summary>
public sealed class PiiMaskingGuardrail : IGuardrail
{
    public string Kind => GuardrailTypes.PiiMasking;

    public Task<GuardrailVerdict> RunAsync(GuardrailCall call, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(call);
        var changed = false;
        var masked = new List<string>(call.Texts.Count);
        foreach (var text in call.Texts)
        {
            var found = PiiPatterns.Find(text);
            if (found.Count == 0)
            {
                masked.Add(text);
                continue;
            }

            changed = true;
            var sb = new StringBuilder(text.Length);
            var at = 0;
            foreach (var (label, start, length) in found)
            {
                sb.Append(text, at, start - at).Append(call.Session.Placeholder(label, text.Substring(start, length)));
                at = start + length;
            }

            masked.Add(sb.Append(text, at, text.Length - at).ToString());
        }

        return Task.FromResult(changed ? GuardrailVerdict.Masked(masked) : GuardrailVerdict.Allow);
    }
}
