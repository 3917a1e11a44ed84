namespace Broker.ServiceDefaults.Database;

/// <summary>migrate-db cannot copy (the target already holds state, a table or column does not match, a value is not its type).</summary>
public sealed class StateCopyException : Exception
{
    public StateCopyException()
    {
    }

    public StateCopyException(string message)
        : base(message)
    {
    }

    public StateCopyException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
