namespace Broker.Config.Model;

/// <summary>
/// litellm_settings.s3_callback_params: where the <c>s3</c> callback writes each request's standard logging payload.
/// Object keys are <c>[s3_path/][team alias/][key alias/]YYYY-MM-DD/time-HH-MM-SS-ffffff_{id}.json</c>, as LiteLLM's.
/// </summary>
public sealed record S3CallbackParams
{
    public string? BucketName { get; init; }

    public string? RegionName { get; init; }

    /// <summary>s3_endpoint_url: an S3-compatible server (MinIO, s3rver, R2); path-style addressing.</summary>
    public string? EndpointUrl { get; init; }

    public Secret? AccessKeyId { get; init; }

    public Secret? SecretAccessKey { get; init; }

    public Secret? SessionToken { get; init; }

    /// <summary>s3_path: a prefix put before every object key.</summary>
    public string? Path { get; init; }

    /// <summary>s3_use_team_prefix: the caller's team alias as a folder, when it has one.</summary>
    public bool UseTeamPrefix { get; init; }

    /// <summary>s3_use_key_prefix: the caller's key alias as a folder, when it has one.</summary>
    public bool UseKeyPrefix { get; init; }

    /// <summary>s3_server_side_encryption (AES256, aws:kms); aws:kms when only s3_sse_kms_key_id is given.</summary>
    public string? ServerSideEncryption { get; init; }

    public string? SseKmsKeyId { get; init; }

    /// <summary>Other keys (s3_api_version, s3_verify, s3_flush_interval, ...), kept as loaded.</summary>
    public IReadOnlyDictionary<string, object?> Extra { get; init; } = new Dictionary<string, object?>();
}
