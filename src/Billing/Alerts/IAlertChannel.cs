using Broker.Contracts.Alerts;

namespace Broker.Billing.Alerts;

/// <summary>One way of telling an operator (Slack, email, webhook). Throws when the alert was not delivered.</summary>
public interface IAlertChannel
{
    string Name { get; }

    /// <summary>Whether this channel takes alerts of this kind with the current settings.</summary>
    bool Accepts(AlertRaised alert);

    Task SendAsync(AlertRaised alert, CancellationToken cancellationToken);
}
