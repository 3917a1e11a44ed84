using Broker.Ingress.Guardrails.BuiltIn;
using Broker.Ingress.Guardrails.External;
using Microsoft.Extensions.DependencyInjection;

namespace Broker.Ingress.Guardrails;

public static class GuardrailsRegistration
{
    /// <summary>The guardrail pipeline and one <see cref="IGuardrail"/> per kind (the registry is keyed by <see cref="IGuardrail.Kind"/>).</summary>
    public static IServiceCollection AddGuardrails(this IServiceCollection services)
    {
        services.AddSingleton<GuardrailMetrics>();
        services.AddSingleton<GuardrailPipeline>();
        services.AddHttpClient(GuardrailHttp.ClientName);
        services.AddSingleton<IGuardrail, HideSecretsGuardrail>();
        services.AddSingleton<IGuardrail, PiiMaskingGuardrail>();
        services.AddSingleton<IGuardrail, DetectPromptInjectionGuardrail>();
        services.AddSingleton<IGuardrail, LakeraGuardrail>();
        services.AddSingleton<IGuardrail, PresidioGuardrail>();
        services.AddSingleton<IGuardrail, GenericGuardrailApi>();
        return services;
    }
}
