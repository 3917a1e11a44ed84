namespace Broker.Host.Composition;

/// <summary>The roles one broker process runs.</summary>
[Flags]
public enum BrokerRoles
{
    None = 0,
    Ingress = 1,
    Workers = 2,
    Billing = 4,
    All = Ingress | Workers | Billing,
}
