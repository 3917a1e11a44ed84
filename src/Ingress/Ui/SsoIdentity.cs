namespace Broker.Ingress.Ui;

/// <summary>Who the provider says signed in: its user id, e-mail (null unless verified or not marked unverified), name and roles.</summary>
public sealed record SsoIdentity(string UserId, string? Email, string? Name, IReadOnlyList<string> Roles);
