namespace Broker.Workers.Providers.Bedrock;

/// <summary>AWS access key pair (and session token for temporary credentials). <see cref="ToString"/> never shows the secret.</summary>
public sealed record AwsCredentials(string AccessKeyId, string SecretAccessKey, string? SessionToken = null)
{
    public override string ToString() => $"AwsCredentials {{ AccessKeyId = {AccessKeyId}, SecretAccessKey = ***, SessionToken = {(SessionToken is null ? "none" : "***")} }}";
}
