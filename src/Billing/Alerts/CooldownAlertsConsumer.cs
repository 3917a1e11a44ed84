using System.Globalization;
using Broker.Contracts.Alerts;
using Broker.Contracts.Routing;
using MassTransit;

namespace Broker.Billing.Alerts;

/// <summary>A deployment put in cooldown raises <c>cooldown_deployment</c> (once per deployment per window).</summary>
public sealed class CooldownAlertsConsumer(AlertingOptions options, TimeProvider timeProvider) : IConsumer<DeploymentCooledDown>
{
    public Task Consume(ConsumeContext<DeploymentCooledDown> context)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (!options.IsOn(AlertKinds.CooldownDeployment))
        {
            return Task.CompletedTask;
        }

        var c = context.Message;
        return context.Publish(new AlertRaised
        {
            Kind = AlertKinds.CooldownDeployment,
            DedupeKey = $"{AlertKinds.CooldownDeployment}:{c.ModelGroup}:{c.DeploymentId}",
            Level = "Medium",
            Message = $"Deployment `{c.DeploymentId}` of `{c.ModelGroup}` is cooling down for {c.CooldownSeconds.ToString("0", CultureInfo.InvariantCulture)} s after {c.FailuresThisMinute} failure(s) this minute (last: {c.ErrorClass}, HTTP {c.StatusCode})",
            RaisedAt = timeProvider.GetUtcNow(),
            Data = new Dictionary<string, string?>(StringComparer.Ordinal)
            {
                ["model_group"] = c.ModelGroup,
                ["deployment_id"] = c.DeploymentId,
                ["error_class"] = c.ErrorClass.ToString(),
                ["status_code"] = c.StatusCode.ToString(CultureInfo.InvariantCulture),
                ["cooldown_seconds"] = c.CooldownSeconds.ToString(CultureInfo.InvariantCulture),
                ["until"] = c.Until.ToString("O", CultureInfo.InvariantCulture),
            },
        }, context.CancellationToken);
    }
}
