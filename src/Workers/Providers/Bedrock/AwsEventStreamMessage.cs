namespace Broker.Workers.Providers.Bedrock;

/// <summary>One message of AWS's binary event stream (<c>application/vnd.amazon.eventstream</c>): string headers and payload.</summary>
public sealed record AwsEventStreamMessage(IReadOnlyDictionary<string, string> Headers, byte[] Payload)
{
    public string? Header(string name) => Headers.TryGetValue(name, out var value) ? value : null;
}
