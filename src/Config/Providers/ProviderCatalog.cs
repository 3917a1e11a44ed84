using System.Collections.Frozen;

namespace Broker.Config.Providers;

/// <summary>
/// The providers this process knows, by prefix: the built-ins plus any registered at start (before the config is
/// loaded). The config loader takes its known-prefix list, api_key variables and default bases from here.
/// </summary>
public static class ProviderCatalog
{
    private static readonly Lock Gate = new();
    private static State _state = State.Of(BuiltInProviders.All);

    /// <summary>Every known prefix (each provider's name, then its aliases), in registration order.</summary>
    public static IReadOnlyList<string> Known => Volatile.Read(ref _state).Known;

    /// <summary>The descriptors, in registration order.</summary>
    public static IReadOnlyList<ProviderDescriptor> All => Volatile.Read(ref _state).All;

    /// <summary>The provider a prefix (lower case) names, or null when none is known.</summary>
    public static ProviderDescriptor? Find(string prefix)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        return Volatile.Read(ref _state).ByPrefix.GetValueOrDefault(prefix);
    }

    public static bool IsKnown(string prefix) => Find(prefix) is not null;

    /// <summary>
    /// Adds a provider. Registering the same descriptor again is a no-op; a different descriptor for a prefix already
    /// taken throws, so two providers never silently share a name.
    /// </summary>
    public static void Register(ProviderDescriptor descriptor)
    {
        ArgumentNullException.ThrowIfNull(descriptor);
        lock (Gate)
        {
            var state = _state;
            if (state.ByPrefix.TryGetValue(descriptor.Name, out var existing) && ReferenceEquals(existing, descriptor))
            {
                return;
            }

            foreach (var prefix in descriptor.Prefixes)
            {
                if (prefix.Length == 0 || prefix.Any(char.IsUpper) || prefix.Contains('/', StringComparison.Ordinal))
                {
                    throw new ArgumentException($"provider prefix '{prefix}' must be non-empty lower case without '/'", nameof(descriptor));
                }

                if (state.ByPrefix.TryGetValue(prefix, out var taken))
                {
                    throw new InvalidOperationException($"provider prefix '{prefix}' is already registered (by '{taken.Name}')");
                }
            }

            Volatile.Write(ref _state, State.Of([.. state.All, descriptor]));
        }
    }

    private sealed record State(IReadOnlyList<ProviderDescriptor> All, IReadOnlyList<string> Known, FrozenDictionary<string, ProviderDescriptor> ByPrefix)
    {
        public static State Of(IReadOnlyList<ProviderDescriptor> all)
        {
            var byPrefix = new Dictionary<string, ProviderDescriptor>(StringComparer.Ordinal);
            foreach (var descriptor in all)
            {
                foreach (var prefix in descriptor.Prefixes)
                {
                    byPrefix.Add(prefix, descriptor);
                }
            }

            var known = all.SelectMany(d => d.Prefixes).ToList();
            return new State(all, known, byPrefix.ToFrozenDictionary(StringComparer.Ordinal));
        }
    }
}
