using System.Collections.Frozen;

namespace Broker.Config.Model;

/// <summary>The key_management_system names LiteLLM accepts, and the ones Broker reads secrets from.</summary>
public static class KeyManagementSystems
{
    public const string AwsSecretManager = "aws_secret_manager";
    public const string AwsKms = "aws_kms";
    public const string HashicorpVault = "hashicorp_vault";
    public const string AzureKeyVault = "azure_key_vault";
    public const string GoogleKms = "google_kms";
    public const string GoogleSecretManager = "google_secret_manager";

    /// <summary>Every name LiteLLM knows (others are an error).</summary>
    public static FrozenSet<string> Known { get; } = new[]
    {
        AwsSecretManager, AwsKms, HashicorpVault, AzureKeyVault, GoogleKms, GoogleSecretManager, "cyberark", "custom",
    }.ToFrozenSet(StringComparer.Ordinal);

    /// <summary>The managers Broker reads from; the other known names load with a "not active yet" note.</summary>
    public static FrozenSet<string> Active { get; } = new[]
    {
        AwsSecretManager, AwsKms, HashicorpVault, GoogleSecretManager, AzureKeyVault, GoogleKms,
    }.ToFrozenSet(StringComparer.Ordinal);
}
