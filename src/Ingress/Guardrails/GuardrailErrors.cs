using Broker.Ingress.Errors;
using Microsoft.AspNetCore.Http;

namespace Broker.Ingress.Guardrails;

/// <summary>The answers of a refused request, in OpenAI's shape (the Messages route turns them into Anthropic's).</summary>
public static class GuardrailErrors
{
    public const string BlockedCode = "guardrail_blocked";

    public static OpenAiErrorResult Blocked(string guardrail, GuardrailPhase phase, string reason) =>
        new(StatusCodes.Status400BadRequest,
            $"Violated guardrail policy: guardrail '{guardrail}' blocked the {(phase == GuardrailPhase.Answer ? "response" : "request")}: {reason}",
            "invalid_request_error", "guardrails", BlockedCode);

    public static OpenAiErrorResult Unavailable(string guardrail, string reason) =>
        new(StatusCodes.Status503ServiceUnavailable,
            $"Guardrail '{guardrail}' could not check the request ({reason}); it is refused rather than let through unchecked",
            "service_unavailable", "guardrails", "guardrail_unavailable");

    public static OpenAiErrorResult Unknown(IEnumerable<string> names, IEnumerable<string> configured) =>
        OpenAiErrorResult.BadRequest(
            $"Unknown guardrail(s): {string.Join(", ", names.Select(n => $"'{n}'"))}. Configured: {(configured.Any() ? string.Join(", ", configured) : "none")}",
            "guardrails", "guardrail_not_found");

    /// <summary>A guardrail that applies to the request but whose mode cannot run on its route: refused, never skipped.</summary>
    public static OpenAiErrorResult NotApplicable(IEnumerable<string> guardrails, string why) =>
        OpenAiErrorResult.BadRequest(
            $"Guardrail(s) {string.Join(", ", guardrails.Select(n => $"'{n}'"))} apply to this request but cannot run here: {why}. " +
            "The request is refused rather than let through unchecked.",
            "guardrails", "guardrail_not_applicable");
}
