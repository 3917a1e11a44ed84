namespace Broker.Workers.Providers;

/// <summary>The provider failed after it had started streaming.</summary>
public sealed class ProviderStreamException : Exception
{
    public ProviderStreamException(ProviderError error)
        : base(error?.Message)
    {
        Error = error!;
    }

    public ProviderStreamException()
        : this(new ProviderError(Contracts.Inference.ProviderErrorClass.InternalServerError, 502, "stream failed"))
    {
    }

    public ProviderStreamException(string message)
        : this(new ProviderError(Contracts.Inference.ProviderErrorClass.InternalServerError, 502, message))
    {
    }

    public ProviderStreamException(string message, Exception innerException)
        : base(message, innerException)
    {
        Error = new ProviderError(Contracts.Inference.ProviderErrorClass.InternalServerError, 502, message);
    }

    public ProviderError Error { get; }
}
