namespace Broker.Ingress.Guardrails;

/// <summary>One guardrail kind (<see cref="Config.Model.GuardrailTypes"/>); one instance serves every definition of that kind.</summary>
public interface IGuardrail
{
    /// <summary>The kind this implements (a <see cref="Config.Model.GuardrailTypes"/> constant).</summary>
    string Kind { get; }

    Task<GuardrailVerdict> RunAsync(GuardrailCall call, CancellationToken cancellationToken);
}
