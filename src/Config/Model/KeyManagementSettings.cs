namespace Broker.Config.Model;

/// <summary>
/// general_settings.key_management_system with key_management_settings: where <c>os.environ/NAME</c> secrets come from
/// (read by the <c>broker</c> host before the config is loaded; see docs/configuration.md#secrets-from-a-key-manager).
/// </summary>
public sealed record KeyManagementSettings
{
    /// <summary>key_management_system: aws_secret_manager, aws_kms, hashicorp_vault, azure_key_vault, google_kms, google_secret_manager.</summary>
    public required string System { get; init; }

    /// <summary>hosted_keys: only these names are read from (or, for aws_kms, decrypted by) the manager; empty = every os.environ/ name.</summary>
    public IReadOnlyList<string> HostedKeys { get; init; } = [];

    /// <summary>store_virtual_keys: LiteLLM writes new virtual keys to the manager; Broker keeps them hashed in its own store (warned).</summary>
    public bool StoreVirtualKeys { get; init; }

    /// <summary>prefix_for_stored_virtual_keys (LiteLLM default <c>litellm/</c>).</summary>
    public string? PrefixForStoredVirtualKeys { get; init; }

    /// <summary>access_mode: read_only (default), write_only (nothing is read from the manager), read_and_write.</summary>
    public string AccessMode { get; init; } = "read_only";

    /// <summary>primary_secret_name (aws_secret_manager): one JSON secret holding every name as a key.</summary>
    public string? PrimarySecretName { get; init; }

    /// <summary>refresh_interval (Broker): how long a value read from the manager is kept before it is read again (default 24 h).</summary>
    public TimeSpan RefreshInterval { get; init; } = TimeSpan.FromHours(24);

    /// <summary>endpoint (Broker): the manager's base URL, over the vendor's default and its environment variable (tests, private endpoints).</summary>
    public string? Endpoint { get; init; }

    /// <summary>True when values are read from the manager (access_mode is not write_only).</summary>
    public bool Reads => !string.Equals(AccessMode, "write_only", StringComparison.Ordinal);

    /// <summary>Other key_management_settings keys, kept as loaded.</summary>
    public IReadOnlyDictionary<string, object?> Extra { get; init; } = new Dictionary<string, object?>();
}
