namespace Broker.Ingress.Ui;

/// <summary>A provider's endpoints as used for one sign-in (given in config, or read from its discovery document).</summary>
public sealed record SsoEndpointsSet(Uri Authorization, Uri Token, Uri? Userinfo, Uri? JwksUri, string? Issuer);
