using System.Text.Json;
using Broker.Contracts.Inference;
using Broker.Contracts.Routing;
using MassTransit.Serialization;

namespace Broker.Contracts.Tests.Wire;

/// <summary>
/// <see cref="DeploymentCooledDown.ErrorClass"/> was a string and is now an enum that travels by name, so a process of
/// the previous release and one of this release read each other's cooldown events during a rolling upgrade. (Other enum
/// fields, such as <c>InferenceFailed.ErrorClass</c>, have always travelled as numbers and stay so.)
/// </summary>
public sealed class EnumWireTests
{
    [Fact]
    public void Serialize_DeploymentCooledDown_ErrorClassByName()
    {
        var json = JsonSerializer.Serialize(Cooled(ProviderErrorClass.RateLimit), SystemTextJsonMessageSerializer.Options);

        Assert.Equal("RateLimit", JsonDocument.Parse(json).RootElement.GetProperty("errorClass").GetString());
    }

    [Fact]
    public void Deserialize_ErrorClassStringFromThePreviousRelease_ReadsTheEnum()
    {
        const string previous = """
            {"modelGroup":"g","deploymentId":"d","errorClass":"InternalServerError","statusCode":500,
             "failuresThisMinute":3,"cooldownSeconds":5,"until":"2026-12-05T00:00:00+00:00"}
            """;

        var message = JsonSerializer.Deserialize<DeploymentCooledDown>(previous, SystemTextJsonMessageSerializer.Options)!;

        Assert.Equal(ProviderErrorClass.InternalServerError, message.ErrorClass);
    }

    private static DeploymentCooledDown Cooled(ProviderErrorClass errorClass) => new()
    {
        ModelGroup = "g",
        DeploymentId = "d",
        ErrorClass = errorClass,
        StatusCode = 429,
        FailuresThisMinute = 1,
        CooldownSeconds = 5,
        Until = DateTimeOffset.UnixEpoch,
    };
}
