using System.Globalization;
using Broker.Config.Model;

namespace Broker.Ingress.Guardrails.BuiltIn;

/// <summary>detect_prompt_injection: blocks when <see cref="PromptInjectionHeuristic"/> scores any text at or above the threshold.</summary>
public sealed class DetectPromptInjectionGuardrail : IGuardrail
{
    public string Kind => GuardrailTypes.DetectPromptInjection;

    public Task<GuardrailVerdict> RunAsync(GuardrailCall call, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(call);
        foreach (var text in call.Texts)
        {
            var (score, signals) = PromptInjectionHeuristic.Score(text);
            if (score >= call.Definition.Threshold)
            {
                return Task.FromResult(GuardrailVerdict.Block(string.Create(CultureInfo.InvariantCulture,
                    $"prompt injection suspected (score {score:0.00} >= {call.Definition.Threshold:0.00}: {string.Join(", ", signals)})")));
            }
        }

        return Task.FromResult(GuardrailVerdict.Allow);
    }
}
