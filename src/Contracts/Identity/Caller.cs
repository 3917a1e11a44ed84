namespace Broker.Contracts.Identity;

/// <summary>
/// Who sent a request, as the Ingress authenticated it: carried on every inference command and on its
/// <see cref="Usage.UsageRecorded"/> event so that spend, limits and logs are attributed to the key, user and team.
/// Never holds the key itself: only its hash.
/// </summary>
public sealed record Caller
{
    /// <summary>SHA-256 of the virtual key (hex); null for the master key or an open gateway.</summary>
    public string? KeyHash { get; init; }

    public string? KeyAlias { get; init; }

    public string? UserId { get; init; }

    public string? TeamId { get; init; }

    /// <summary>The team's alias, for integrations that file by it (the s3 callback's s3_use_team_prefix).</summary>
    public string? TeamAlias { get; init; }

    /// <summary>The client's own end-user id (the OpenAI <c>user</c> field), for spend per end user.</summary>
    public string? EndUser { get; init; }

    /// <summary>Request tags (metadata.tags), for spend by tag.</summary>
    public IReadOnlyList<string> Tags { get; init; } = [];
}
