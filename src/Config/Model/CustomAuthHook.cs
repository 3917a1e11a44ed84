namespace Broker.Config.Model;

/// <summary>
/// general_settings.custom_auth in Broker's HTTP form (<c>{url, headers, timeout}</c>): an ext-authz style hook asked
/// about every request presented with a key that is not the master key. LiteLLM's Python module path form loads with a
/// warning and is not called.
/// </summary>
public sealed record CustomAuthHook
{
    /// <summary>url: where Broker POSTs the request's method, path, headers and key.</summary>
    public required Uri Url { get; init; }

    /// <summary>headers: sent with every call to the hook (values may be <c>os.environ/NAME</c>); never logged.</summary>
    public IReadOnlyDictionary<string, string> Headers { get; init; } = new Dictionary<string, string>();

    /// <summary>timeout: how long the hook may take before the request is refused (503, fail closed); default 5 s.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Never prints the header values (they carry tokens).</summary>
    public override string ToString() => $"CustomAuthHook {{ Url = {Url}, Headers = [{string.Join(", ", Headers.Keys)}], Timeout = {Timeout} }}";
}
