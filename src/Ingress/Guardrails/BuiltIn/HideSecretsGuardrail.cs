using Broker.Config.Model;

namespace Broker.Ingress.Guardrails.BuiltIn;

/// <summary>hide_secrets: masks API keys, tokens, private keys and passwords (<see cref="SecretPatterns"/>) before the provider sees them.</summary>
public sealed class HideSecretsGuardrail : IGuardrail
{
    public string Kind => GuardrailTypes.HideSecrets;

    public Task<GuardrailVerdict> RunAsync(GuardrailCall call, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(call);
        var masked = call.Texts.Select(SecretPatterns.Default.Mask).ToList();
        var changed = masked.Where((t, i) => !ReferenceEquals(t, call.Texts[i])).Any();
        return Task.FromResult(changed ? GuardrailVerdict.Masked(masked) : GuardrailVerdict.Allow);
    }
}
