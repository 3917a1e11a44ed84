using System.Collections.Frozen;
using Broker.Config.Providers;
using Broker.Workers.Providers.Anthropic;
using Broker.Workers.Providers.Bedrock;
using Broker.Workers.Providers.Cohere;
using Broker.Workers.Providers.Gemini;
using Broker.Workers.Providers.Mock;
using Broker.Workers.Providers.OpenAi;
using Broker.Workers.Providers.Voyage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Broker.Workers.Providers;

/// <summary>
/// The provider implementations, keyed by their descriptor's name. One <see cref="Add{TProvider}"/> line per provider
/// makes it known everywhere: the config loader (through <see cref="ProviderCatalog"/>: prefix, api_key variables,
/// default base, supported parameters) and the Workers (the implementation called for its deployments). Register before
/// the config is loaded. Providers that speak OpenAI's API need no implementation: their descriptor alone
/// (<see cref="ProviderDescriptor.OpenAiCompatible"/>) routes them to <see cref="OpenAiCompatibleProvider"/>.
/// </summary>
public static class ProviderRegistry
{
    private static readonly Lock Gate = new();
    private static FrozenDictionary<string, Type> _implementations = FrozenDictionary<string, Type>.Empty;

    // the built-in implementations: one line per provider
    static ProviderRegistry()
    {
        Add<OpenAiCompatibleProvider>(BuiltInProviders.OpenAi);
        Add<AnthropicProvider>(BuiltInProviders.Anthropic);
        Add<GeminiProvider>(BuiltInProviders.Gemini);
        Add<CohereProvider>(BuiltInProviders.Cohere);
        Add<BedrockProvider>(BuiltInProviders.Bedrock);
        Add<VoyageProvider>(BuiltInProviders.Voyage);
    }

    /// <summary>Implementation types by provider name.</summary>
    public static IReadOnlyDictionary<string, Type> Implementations => Volatile.Read(ref _implementations);

    /// <summary>
    /// Registers <typeparamref name="TProvider"/> as the implementation of <paramref name="descriptor"/>'s provider (and the
    /// descriptor in <see cref="ProviderCatalog"/> when it is new). The same pair again is a no-op; another type for a
    /// name already implemented throws.
    /// </summary>
    public static void Add<TProvider>(ProviderDescriptor descriptor)
        where TProvider : class, IProvider
    {
        ArgumentNullException.ThrowIfNull(descriptor);
        lock (Gate)
        {
            if (_implementations.TryGetValue(descriptor.Name, out var existing))
            {
                if (existing != typeof(TProvider))
                {
                    throw new InvalidOperationException($"provider '{descriptor.Name}' is already implemented by {existing.Name}");
                }

                return;
            }

            ProviderCatalog.Register(descriptor);
            var next = new Dictionary<string, Type>(_implementations, StringComparer.Ordinal) { [descriptor.Name] = typeof(TProvider) };
            Volatile.Write(ref _implementations, next.ToFrozenDictionary(StringComparer.Ordinal));
        }
    }

    /// <summary>The provider implementations and the resolver for the Workers (needs <see cref="ProviderHttp"/> and a <see cref="TimeProvider"/>).</summary>
    public static IServiceCollection AddProviderImplementations(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        foreach (var type in Implementations.Values)
        {
            services.TryAddSingleton(type);
        }

        services.TryAddSingleton<AnthropicPassThrough>();
        services.TryAddSingleton<MockProvider>();
        services.TryAddSingleton<ProviderResolver>();
        return services;
    }
}
