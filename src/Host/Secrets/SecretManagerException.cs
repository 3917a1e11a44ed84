namespace Broker.Host.Secrets;

/// <summary>A key manager could not be asked (unreachable, refused the credentials, answered garbage).</summary>
public sealed class SecretManagerException : Exception
{
    public SecretManagerException()
    {
    }

    public SecretManagerException(string message)
        : base(message)
    {
    }

    public SecretManagerException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
