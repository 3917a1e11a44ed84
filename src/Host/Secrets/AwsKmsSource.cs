using System.Text;
using Amazon.KeyManagementService;
using Amazon.KeyManagementService.Model;
using Amazon.Runtime;
using Broker.Config.Model;

namespace Broker.Host.Secrets;

/// <summary>
/// AWS KMS (LiteLLM's aws_kms): the named variable's value in the environment is base64 KMS ciphertext; the value used
/// is its decryption (the AWS SDK's <c>Decrypt</c>). Credentials from the AWS SDK's usual chain (AWS_ACCESS_KEY_ID...,
/// profile, role), region from AWS_REGION_NAME / AWS_REGION.
/// </summary>
internal sealed class AwsKmsSource : ISecretSource, IDisposable
{
    private readonly AmazonKeyManagementServiceClient _client;
    private readonly Func<string, string?> _env;

    public AwsKmsSource(Func<string, string?> env, string? endpoint)
    {
        _env = env;
        var region = AwsSettings.Region(env, KeyManagementSystems.AwsKms);
        var config = new AmazonKeyManagementServiceConfig { MaxErrorRetry = 1, Timeout = TimeSpan.FromSeconds(10) };
        if (AwsSettings.Endpoint(env, endpoint, "KMS") is { } url)
        {
            config.ServiceURL = url;
            config.AuthenticationRegion = region;
        }
        else
        {
            config.RegionEndpoint = Amazon.RegionEndpoint.GetBySystemName(region);
        }

        _client = AwsSettings.Credentials(env) is { } c
            ? new AmazonKeyManagementServiceClient(
                c.SessionToken is null ? new BasicAWSCredentials(c.AccessKeyId, c.SecretAccessKey) : new SessionAWSCredentials(c.AccessKeyId, c.SecretAccessKey, c.SessionToken),
                config)
            : new AmazonKeyManagementServiceClient(config);
    }

    public string System => KeyManagementSystems.AwsKms;

    public async Task<string?> ReadAsync(string name, CancellationToken cancellationToken)
    {
        if (HashicorpVaultSource.NonEmpty(_env(name)) is not { } encrypted)
        {
            return null;
        }

        byte[] blob;
        try
        {
            blob = Convert.FromBase64String(encrypted.Trim());
        }
        catch (FormatException ex)
        {
            throw new SecretManagerException($"aws_kms: {name} is not base64 KMS ciphertext", ex);
        }

        try
        {
            using var stream = new MemoryStream(blob);
            var response = await _client.DecryptAsync(new DecryptRequest { CiphertextBlob = stream }, cancellationToken);
            return Encoding.UTF8.GetString(response.Plaintext.ToArray());
        }
        catch (Exception ex) when (ex is AmazonServiceException or AmazonClientException or HttpRequestException && !cancellationToken.IsCancellationRequested)
        {
            throw new SecretManagerException($"aws_kms could not decrypt {name}: {ex.Message}", ex);
        }
    }

    public void Dispose() => _client.Dispose();
}
