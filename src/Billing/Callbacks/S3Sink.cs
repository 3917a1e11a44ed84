using System.Globalization;
using Amazon;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;
using Broker.Config.Model;

namespace Broker.Billing.Callbacks;

/// <summary>
/// <c>s3</c>: each finished request's standard logging payload as one JSON object in the bucket of
/// litellm_settings.s3_callback_params, under LiteLLM's key layout
/// <c>[s3_path/][team alias/][key alias/]YYYY-MM-DD/time-HH-MM-SS-ffffff_{id}.json</c> (the start time, UTC).
/// </summary>
public sealed class S3Sink(IAmazonS3 client, S3CallbackParams settings) : ICallbackSink, IDisposable
{
    /// <summary>From s3_callback_params; null without s3_bucket_name. Credentials: the params, else the AWS SDK's chain.</summary>
    public static S3Sink? Create(CallbackSinkContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (context.Config.LitellmSettings.S3CallbackParams is not { BucketName.Length: > 0 } settings)
        {
            return null;
        }

        var config = new AmazonS3Config
        {
            // DeliveryRetry retries the whole delivery; one layer of retries only
            MaxErrorRetry = 0,
            RequestChecksumCalculation = RequestChecksumCalculation.WHEN_REQUIRED,
            ResponseChecksumValidation = ResponseChecksumValidation.WHEN_REQUIRED,
            Timeout = TimeSpan.FromSeconds(30),
        };
        var region = string.IsNullOrWhiteSpace(settings.RegionName) ? "us-east-1" : settings.RegionName;
        if (!string.IsNullOrWhiteSpace(settings.EndpointUrl))
        {
            config.ServiceURL = settings.EndpointUrl;
            config.AuthenticationRegion = region;
            config.ForcePathStyle = true;
        }
        else
        {
            config.RegionEndpoint = RegionEndpoint.GetBySystemName(region);
        }

        AmazonS3Client client;
        if (settings.AccessKeyId?.Value is { Length: > 0 } keyId && settings.SecretAccessKey?.Value is { Length: > 0 } secret)
        {
            AWSCredentials credentials = settings.SessionToken?.Value is { Length: > 0 } token
                ? new SessionAWSCredentials(keyId, secret, token)
                : new BasicAWSCredentials(keyId, secret);
            client = new AmazonS3Client(credentials, config);
        }
        else
        {
            client = new AmazonS3Client(config);
        }

        return new S3Sink(client, settings);
    }

    public string Name => "s3";

    public bool TakesSuccess => true;

    public bool TakesFailure => true;

    public async Task SendAsync(CallbackEvent callbackEvent, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(callbackEvent);
        var id = callbackEvent.Usage.RequestId.ToString();
        var start = callbackEvent.StartTime.UtcDateTime;
        var request = new PutObjectRequest
        {
            BucketName = settings.BucketName,
            Key = ObjectKey(settings, callbackEvent),
            ContentType = "application/json",
            ContentBody = callbackEvent.StandardPayload().ToJsonString(),
            // one signed payload: S3-compatible servers often do not decode aws-chunked bodies
            UseChunkEncoding = false,
        };
        request.Headers.ContentDisposition = $"inline; filename=\"time-{start.ToString("yyyy-MM-dd'T'HH-mm-ss-ffffff", CultureInfo.InvariantCulture)}_{id}.json\"";
        request.Headers.CacheControl = "private, immutable, max-age=31536000, s-maxage=0";
        var encryption = settings.ServerSideEncryption ?? (settings.SseKmsKeyId is null ? null : "aws:kms");
        if (encryption is not null)
        {
            request.ServerSideEncryptionMethod = new ServerSideEncryptionMethod(encryption);
            if (settings.SseKmsKeyId is { } kmsKey && encryption.StartsWith("aws:kms", StringComparison.Ordinal))
            {
                request.ServerSideEncryptionKeyManagementServiceKeyId = kmsKey;
            }
        }

        await client.PutObjectAsync(request, cancellationToken);
    }

    /// <summary>The object key of one request: prefix, team and key alias folders (when asked for and known), date, time and id.</summary>
    public static string ObjectKey(S3CallbackParams settings, CallbackEvent callbackEvent)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(callbackEvent);
        var key = new System.Text.StringBuilder();
        if (settings.Path is { Length: > 0 } path && path.Trim('/') is { Length: > 0 } trimmed)
        {
            key.Append(trimmed).Append('/');
        }

        if (settings.UseTeamPrefix && callbackEvent.Caller?.TeamAlias is { Length: > 0 } team)
        {
            key.Append(team.Replace('/', '_')).Append('/');
        }

        if (settings.UseKeyPrefix && callbackEvent.Caller?.KeyAlias is { Length: > 0 } alias)
        {
            key.Append(alias.Replace('/', '_')).Append('/');
        }

        var start = callbackEvent.StartTime.UtcDateTime;
        key.Append(start.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture)).Append('/')
            .Append("time-").Append(start.ToString("HH-mm-ss-ffffff", CultureInfo.InvariantCulture))
            .Append('_').Append(callbackEvent.Usage.RequestId.ToString()).Append(".json");
        return key.ToString();
    }

    public void Dispose() => client.Dispose();
}
