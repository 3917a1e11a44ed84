using Broker.Config.Model;

namespace Broker.Config.Loading;

/// <summary>general_settings.key_management_system + key_management_settings → <see cref="KeyManagementSettings"/>.</summary>
internal static class KeyManagementReader
{
    private static readonly string[] AccessModes = ["read_only", "write_only", "read_and_write"];

    public static KeyManagementSettings? Read(MapReader g, bool useGoogleKms, bool useAzureKeyVault)
    {
        var context = g.Convert.Context;
        var systemNode = g.Take("key_management_system");
        var system = systemNode is null ? null : g.Convert.String(systemNode, g.ChildPath("key_management_system"));
        // LiteLLM's older flags name a manager too (key_management_system wins when both are given)
        if (system is null && useGoogleKms)
        {
            system = KeyManagementSystems.GoogleKms;
        }
        else if (system is null && useAzureKeyVault)
        {
            system = KeyManagementSystems.AzureKeyVault;
        }

        var map = g.Map("key_management_settings");
        var path = g.ChildPath("key_management_settings");
        var r = new MapReader(g.Convert, map, path);
        var hosted = r.StringList("hosted_keys") ?? [];
        var store = r.Bool("store_virtual_keys") ?? false;
        var prefix = r.String("prefix_for_stored_virtual_keys");
        var accessNode = r.Take("access_mode");
        var access = accessNode is null ? null : g.Convert.String(accessNode, r.ChildPath("access_mode"));
        var primary = r.String("primary_secret_name");
        var refresh = r.Duration("refresh_interval");
        var endpoint = r.String("endpoint");
        // LiteLLM's description/tags describe virtual keys it writes to the manager; Broker does not write them
        r.Take("description");
        r.Take("tags");
        var extra = r.Finish();
        if (system is null)
        {
            if (map is not null)
            {
                context.Warning(map, path, "key_management_settings without general_settings.key_management_system has no effect");
            }

            return null;
        }

        if (!KeyManagementSystems.Known.Contains(system))
        {
            context.Error(systemNode, g.ChildPath("key_management_system"),
                $"unknown key management system '{system}' (expected one of {string.Join(", ", KeyManagementSystems.Known.Order(StringComparer.Ordinal))})");
            return null;
        }

        if (access is not null && !AccessModes.Contains(access, StringComparer.Ordinal))
        {
            context.Error(accessNode, r.ChildPath("access_mode"), $"expected one of {string.Join(", ", AccessModes)}, got '{access}'");
            access = null;
        }

        if (store)
        {
            context.Warning(map, r.ChildPath("store_virtual_keys"),
                $"virtual keys are not written to {system}: Broker keeps them (SHA-256 hashed) in its own store; secrets are only read from the manager");
        }

        if (primary is not null && system != KeyManagementSystems.AwsSecretManager)
        {
            context.Warning(map, r.ChildPath("primary_secret_name"), "primary_secret_name applies to aws_secret_manager only; ignored");
        }

        if (endpoint is not null && !Uri.TryCreate(endpoint, UriKind.Absolute, out _))
        {
            context.Error(map, r.ChildPath("endpoint"), $"expected an absolute URL, got '{endpoint}'");
            endpoint = null;
        }

        if (system == KeyManagementSystems.AwsKms && hosted.Count == 0)
        {
            context.Warning(systemNode, g.ChildPath("key_management_system"),
                "aws_kms decrypts only the variables named in key_management_settings.hosted_keys; none are named, so nothing is decrypted");
        }

        return new KeyManagementSettings
        {
            System = system,
            HostedKeys = hosted,
            StoreVirtualKeys = store,
            PrefixForStoredVirtualKeys = prefix,
            AccessMode = access ?? "read_only",
            PrimarySecretName = primary,
            RefreshInterval = refresh is { } d && d > TimeSpan.Zero ? d : TimeSpan.FromHours(24),
            Endpoint = endpoint,
            Extra = extra,
        };
    }
}
