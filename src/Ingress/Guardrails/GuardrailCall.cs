using Broker.Config.Model;
using Broker.Contracts.Identity;

namespace Broker.Ingress.Guardrails;

/// <summary>One guardrail run over some texts.</summary>
/// <param name="Definition">The configured guardrail.</param>
/// <param name="Phase">Request or answer.</param>
/// <param name="Texts">The texts, in their order in the request or answer.</param>
/// <param name="Session">State shared by the guardrails of one request (reversible placeholders).</param>
/// <param name="Caller">Who sent the request.</param>
public sealed record GuardrailCall(
    GuardrailDefinition Definition, GuardrailPhase Phase, IReadOnlyList<string> Texts, GuardrailSession Session, Caller? Caller);
