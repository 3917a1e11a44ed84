using System.Security.Cryptography;
using System.Text;

namespace Broker.Config.Model;

/// <summary>Deployments sharing one model_name: the unit that has a queue and is load-balanced.</summary>
public sealed record ModelGroup
{
    public required string Name { get; init; }

    public required IReadOnlyList<ModelDeployment> Deployments { get; init; }

    /// <summary>True when the name contains <c>*</c> (e.g. <c>*</c> or <c>anthropic/*</c>).</summary>
    public bool IsWildcard => Name.Contains('*', StringComparison.Ordinal);

    /// <summary>The RabbitMQ / in-memory queue for this group, e.g. <c>model-group.gpt-4o</c>.</summary>
    public string QueueName => QueueNameFor(Name);

    /// <summary>Per-deployment default when neither the deployment nor general_settings sets max_parallel_requests.</summary>
    public const int DefaultMaxParallelRequestsPerDeployment = 64;

    /// <summary>
    /// How many of this group's requests one worker process runs at once: the sum over its deployments of
    /// max_parallel_requests (else general_settings.max_parallel_requests, else 64).
    /// </summary>
    public int Concurrency(GeneralSettings general)
    {
        ArgumentNullException.ThrowIfNull(general);
        var sum = Deployments.Sum(d => (long)(d.MaxParallelRequests ?? general.MaxParallelRequests ?? DefaultMaxParallelRequestsPerDeployment));
        return (int)Math.Clamp(sum, 1, 10_000);
    }

    /// <summary>True when a requested model name matches this (wildcard) group's pattern.</summary>
    public bool Matches(string requestedModel)
    {
        ArgumentNullException.ThrowIfNull(requestedModel);
        if (!IsWildcard)
        {
            return string.Equals(Name, requestedModel, StringComparison.Ordinal);
        }

        var star = Name.IndexOf('*', StringComparison.Ordinal);
        var prefix = Name[..star];
        var suffix = Name[(star + 1)..];
        return requestedModel.Length >= prefix.Length + suffix.Length &&
               requestedModel.StartsWith(prefix, StringComparison.Ordinal) &&
               requestedModel.EndsWith(suffix, StringComparison.Ordinal);
    }

    /// <summary>
    /// The part of <paramref name="requestedModel"/> that the group's <c>*</c> stands for
    /// (<c>anthropic/*</c> and <c>anthropic/claude-3</c> give <c>claude-3</c>).
    /// </summary>
    public string WildcardPart(string requestedModel)
    {
        ArgumentNullException.ThrowIfNull(requestedModel);
        if (!IsWildcard || !Matches(requestedModel))
        {
            return requestedModel;
        }

        var star = Name.IndexOf('*', StringComparison.Ordinal);
        var suffixLength = Name.Length - star - 1;
        return requestedModel[star..(requestedModel.Length - suffixLength)];
    }

    /// <summary>
    /// Queue name for a model group: lower-case letters, digits, '-', '_' and '.' kept, anything else becomes '-';
    /// when that changed the name, a short hash of the original keeps two groups from sharing a queue.
    /// </summary>
    public static string QueueNameFor(string groupName)
    {
        ArgumentNullException.ThrowIfNull(groupName);
        var sb = new StringBuilder(groupName.Length);
        foreach (var c in groupName)
        {
            sb.Append(char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' ? char.ToLowerInvariant(c) : '-');
        }

        var cleaned = sb.ToString().Trim('-');
        if (cleaned.Length == 0)
        {
            cleaned = "any";
        }

        if (!string.Equals(cleaned, groupName, StringComparison.Ordinal))
        {
            var hash = SHA256.HashData(Encoding.UTF8.GetBytes(groupName));
            cleaned = $"{cleaned}-{Convert.ToHexStringLower(hash)[..8]}";
        }

        return "model-group." + cleaned;
    }
}
