using System.Globalization;
using System.Net;
using System.Text;
using Amazon;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;
using Broker.Config.Model;

namespace Broker.Ingress.Caching;

/// <summary>
/// <c>type: s3</c>: one object per entry in <c>s3_bucket_name</c> (under <c>s3_path</c> when set), through the AWS SDK.
/// S3 has no per-object TTL, so each object starts with a header line (stored-at and expires-at, Unix ms) and an
/// expired object is a miss (a bucket lifecycle rule can delete old ones). <c>s3_endpoint_url</c> selects an
/// S3-compatible server (path-style addressing); credentials come from <c>s3_aws_access_key_id</c> /
/// <c>s3_aws_secret_access_key</c>, else the SDK's usual chain (AWS_ACCESS_KEY_ID... environment, profile, role).
/// The SDK does not retry: <see cref="ResponseCache"/> bounds every call, and a slow or failing S3 is a miss.
/// </summary>
public sealed class S3CacheStore(IAmazonS3 client, string bucket, string prefix, TimeProvider timeProvider) : ICacheStore, IDisposable
{
    public string Name => $"s3 {bucket}";

    public bool IsAvailable => true;

    public async Task<CacheEntry?> GetAsync(string key, CancellationToken cancellationToken)
    {
        try
        {
            using var response = await client.GetObjectAsync(bucket, prefix + key, cancellationToken);
            using var reader = new StreamReader(response.ResponseStream, Encoding.UTF8);
            var header = await reader.ReadLineAsync(cancellationToken);
            var parts = header?.Split(' ');
            if (parts is not { Length: 2 } ||
                !long.TryParse(parts[0], NumberStyles.Integer, CultureInfo.InvariantCulture, out var storedMs) ||
                !long.TryParse(parts[1], NumberStyles.Integer, CultureInfo.InvariantCulture, out var expiresMs))
            {
                return null;
            }

            var body = await reader.ReadToEndAsync(cancellationToken);
            var entry = new CacheEntry(body, DateTimeOffset.FromUnixTimeMilliseconds(storedMs));
            return DateTimeOffset.FromUnixTimeMilliseconds(expiresMs) <= timeProvider.GetUtcNow() ? null : entry;
        }
        catch (AmazonS3Exception ex) when (ex.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }
    }

    public async Task SetAsync(string key, CacheEntry entry, TimeSpan ttl, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(entry);
        var stored = entry.StoredAt.ToUnixTimeMilliseconds();
        var expires = (entry.StoredAt + ttl).ToUnixTimeMilliseconds();
        await client.PutObjectAsync(new PutObjectRequest
        {
            BucketName = bucket,
            Key = prefix + key,
            ContentType = "application/json",
            // small bodies: one signed payload, no aws-chunked encoding (which S3-compatible servers often do not decode)
            UseChunkEncoding = false,
            ContentBody = stored.ToString(CultureInfo.InvariantCulture) + " " + expires.ToString(CultureInfo.InvariantCulture) + "\n" + entry.Body,
        }, cancellationToken);
    }

    /// <summary>The client for cache_params (s3_region_name, s3_endpoint_url, credentials), or null without a bucket.</summary>
    public static S3CacheStore? Create(CacheParams cache, TimeSpan timeout, TimeProvider timeProvider)
    {
        ArgumentNullException.ThrowIfNull(cache);
        if (string.IsNullOrWhiteSpace(cache.S3BucketName))
        {
            return null;
        }

        var config = new AmazonS3Config
        {
            MaxErrorRetry = 0,
            RequestChecksumCalculation = RequestChecksumCalculation.WHEN_REQUIRED,
            ResponseChecksumValidation = ResponseChecksumValidation.WHEN_REQUIRED,
            Timeout = timeout < TimeSpan.FromSeconds(1) ? TimeSpan.FromSeconds(1) : timeout,
        };
        var region = string.IsNullOrWhiteSpace(cache.S3RegionName) ? "us-east-1" : cache.S3RegionName;
        if (!string.IsNullOrWhiteSpace(cache.S3EndpointUrl))
        {
            config.ServiceURL = cache.S3EndpointUrl;
            config.AuthenticationRegion = region;
            config.ForcePathStyle = true;
        }
        else
        {
            config.RegionEndpoint = RegionEndpoint.GetBySystemName(region);
        }

        var client = cache.S3AwsAccessKeyId?.Value is { Length: > 0 } keyId && cache.S3AwsSecretAccessKey?.Value is { Length: > 0 } secret
            ? new AmazonS3Client(new BasicAWSCredentials(keyId, secret), config)
            : new AmazonS3Client(config);
        var path = cache.Extra.TryGetValue("s3_path", out var p) && p is string s && s.Length > 0 ? s.TrimEnd('/') + "/" : "";
        return new S3CacheStore(client, cache.S3BucketName, path, timeProvider);
    }

    public void Dispose() => client.Dispose();
}
