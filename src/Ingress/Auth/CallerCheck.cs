namespace Broker.Ingress.Auth;

/// <summary>Endpoint metadata: the route runs behind the key check (<see cref="AuthFilter"/>, or a filter wrapping it).</summary>
public sealed record CallerCheck
{
    public static readonly CallerCheck Instance = new();
}
