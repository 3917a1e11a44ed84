using Broker.Config.Model;
using Microsoft.Extensions.DependencyInjection;

namespace Broker.Billing.Callbacks;

/// <summary>What a callback sink is built from: the loaded config, its environment and the shared clients.</summary>
public sealed record CallbackSinkContext(ProxyConfig Config, ConfigEnvironment Env, IHttpClientFactory HttpClients, TimeProvider TimeProvider);

/// <summary>
/// One integration Billing can deliver to, under its config.yaml name. <see cref="Create"/> gives null when the
/// settings it needs (<see cref="Needs"/>) are missing; the name is then logged as listed but not configured.
/// </summary>
public sealed record CallbackSinkRegistration(string Name, string Needs, Func<CallbackSinkContext, ICallbackSink?> Create);

public static class CallbackSinkServiceCollectionExtensions
{
    /// <summary>
    /// Registers an integration: one line per sink. The name must be one of <see cref="CallbackNames"/>'s delivered
    /// names, so config.yaml's loader knows it.
    /// </summary>
    public static IServiceCollection AddCallbackSink(this IServiceCollection services, string name, string needs, Func<CallbackSinkContext, ICallbackSink?> create)
    {
        ArgumentNullException.ThrowIfNull(services);
        return services.AddSingleton(new CallbackSinkRegistration(name, needs, create));
    }
}
