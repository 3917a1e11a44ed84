namespace Broker.Ingress.Ui;

/// <summary>Why an SSO sign-in was refused: a code the sign-in page shows (<c>/ui/?sso_error=CODE</c>) and the log's reason.</summary>
public sealed class SsoFailedException(string code, string reason) : Exception(reason)
{
    public string Code { get; } = code;
}
