using Broker.Config.Model;

namespace Broker.Config.Loading;

/// <summary>litellm_settings.s3_callback_params → <see cref="S3CallbackParams"/> (os.environ/ references resolved).</summary>
internal static class S3CallbackParamsReader
{
    public const string Key = "s3_callback_params";

    /// <summary>Keys LiteLLM's S3 logger takes that Broker reads but does not need (the AWS SDK decides them).</summary>
    private static readonly string[] Accepted =
    [
        "s3_api_version", "s3_use_ssl", "s3_verify", "s3_config", "s3_flush_interval", "s3_batch_size", "s3_strip_base64_files",
        "s3_use_virtual_hosted_style", "s3_aws_session_name", "s3_aws_profile_name", "s3_aws_role_name",
        "s3_aws_web_identity_token", "s3_aws_sts_endpoint", "s3_log_prompts_only",
    ];

    public static S3CallbackParams? Read(MapReader section)
    {
        ArgumentNullException.ThrowIfNull(section);
        var map = section.Map(Key);
        if (map is null)
        {
            return null;
        }

        var r = new MapReader(section.Convert, map, section.ChildPath(Key));
        var result = new S3CallbackParams
        {
            BucketName = r.String("s3_bucket_name"),
            RegionName = r.String("s3_region_name"),
            EndpointUrl = r.String("s3_endpoint_url"),
            AccessKeyId = r.Secret("s3_aws_access_key_id"),
            SecretAccessKey = r.Secret("s3_aws_secret_access_key"),
            SessionToken = r.Secret("s3_aws_session_token"),
            Path = r.String("s3_path"),
            UseTeamPrefix = r.Bool("s3_use_team_prefix") ?? false,
            UseKeyPrefix = r.Bool("s3_use_key_prefix") ?? false,
            ServerSideEncryption = r.String("s3_server_side_encryption"),
            SseKmsKeyId = r.String("s3_sse_kms_key_id"),
        };
        var extra = new Dictionary<string, object?>(StringComparer.Ordinal);
        foreach (var key in Accepted)
        {
            if (r.Has(key))
            {
                extra[key] = r.Take(key) is { } node ? section.Convert.ToObject(node, r.ChildPath(key)) : null;
            }
        }

        foreach (var (key, value) in r.Finish())
        {
            extra[key] = value;
        }

        return result with { Extra = extra };
    }
}
