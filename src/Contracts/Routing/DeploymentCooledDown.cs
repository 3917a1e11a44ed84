using System.Text.Json.Serialization;
using Broker.Contracts.Inference;

namespace Broker.Contracts.Routing;

/// <summary>
/// Event published by the worker that put a deployment in cooldown: every worker skips it until
/// <see cref="Until"/>. Not per request, so no RequestId.
/// </summary>
public sealed record DeploymentCooledDown
{
    public required string ModelGroup { get; init; }

    public required string DeploymentId { get; init; }

    /// <summary>
    /// The failure class that tipped it over, on the wire by name (<c>"InternalServerError"</c>, <c>"RateLimit"</c>) as
    /// when this field was a string, so processes of both releases read each other's events during an upgrade.
    /// </summary>
    [JsonConverter(typeof(JsonStringEnumConverter<ProviderErrorClass>))]
    public required ProviderErrorClass ErrorClass { get; init; }

    public required int StatusCode { get; init; }

    /// <summary>Failures of the deployment in the current minute when the cooldown started.</summary>
    public required int FailuresThisMinute { get; init; }

    public required double CooldownSeconds { get; init; }

    public required DateTimeOffset Until { get; init; }
}
