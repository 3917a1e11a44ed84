namespace Broker.Host.Secrets;

/// <summary>One key manager: reads the value of a name, null when the manager has no such secret.</summary>
internal interface ISecretSource
{
    /// <summary>The key_management_system name, for messages.</summary>
    string System { get; }

    /// <summary>The value, or null when the manager does not hold <paramref name="name"/>; <see cref="SecretManagerException"/> when it cannot be asked.</summary>
    Task<string?> ReadAsync(string name, CancellationToken cancellationToken);

    /// <summary>What the reads so far want the operator to know (a name not asked, a value used as it is); never a value.</summary>
    IReadOnlyCollection<string> Notes => [];
}
