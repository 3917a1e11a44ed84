using Broker.Workers.Providers.Bedrock;

namespace Broker.Host.Secrets;

/// <summary>AWS region, credentials and endpoint from the usual AWS environment variables.</summary>
internal static class AwsSettings
{
    public static string Region(Func<string, string?> env, string system) =>
        HashicorpVaultSource.NonEmpty(env("AWS_REGION_NAME")) ?? HashicorpVaultSource.NonEmpty(env("AWS_REGION"))
        ?? HashicorpVaultSource.NonEmpty(env("AWS_DEFAULT_REGION"))
        ?? throw new SecretManagerException($"{system} needs AWS_REGION_NAME (or AWS_REGION)");

    /// <summary>AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN, or null when not set.</summary>
    public static AwsCredentials? Credentials(Func<string, string?> env) =>
        HashicorpVaultSource.NonEmpty(env("AWS_ACCESS_KEY_ID")) is { } id && HashicorpVaultSource.NonEmpty(env("AWS_SECRET_ACCESS_KEY")) is { } secret
            ? new AwsCredentials(id, secret, HashicorpVaultSource.NonEmpty(env("AWS_SESSION_TOKEN")))
            : null;

    /// <summary>The endpoint: key_management_settings.endpoint, else AWS_ENDPOINT_URL_&lt;SERVICE&gt;, else AWS_ENDPOINT_URL; null = AWS's own.</summary>
    public static string? Endpoint(Func<string, string?> env, string? configured, string serviceVariable) =>
        configured ?? HashicorpVaultSource.NonEmpty(env("AWS_ENDPOINT_URL_" + serviceVariable)) ?? HashicorpVaultSource.NonEmpty(env("AWS_ENDPOINT_URL"));
}
