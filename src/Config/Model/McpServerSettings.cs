namespace Broker.Config.Model;

/// <summary>One upstream MCP server of the gateway, from <c>litellm_settings.mcp_servers</c> or the top-level <c>mcp_servers</c>.</summary>
public sealed record McpServerSettings
{
    /// <summary>The server's name (the map key, or <c>name</c> in the seed's list form).</summary>
    public required string Name { get; init; }

    /// <summary>The name its tools are prefixed with: its first <c>mcp_aliases</c> alias, else <see cref="Name"/>.</summary>
    public required string Prefix { get; init; }

    public required McpTransport Transport { get; init; }

    public string? Command { get; init; }

    public IReadOnlyList<string> Args { get; init; } = [];

    public string? Url { get; init; }

    /// <summary>Environment of the child process (values already resolved from <c>os.environ/</c>); never logged.</summary>
    public IReadOnlyDictionary<string, string> Env { get; init; } = new Dictionary<string, string>();

    public string? Description { get; init; }

    /// <summary>Every name a caller may use for this server: its name and all its aliases.</summary>
    public IReadOnlyList<string> Names { get; init; } = [];

    /// <summary>Never prints the environment (it carries tokens).</summary>
    public override string ToString() =>
        $"McpServerSettings {{ Name = {Name}, Prefix = {Prefix}, Transport = {Transport}, Command = {Command}, Url = {Url}, Env = [{string.Join(", ", Env.Keys)}] }}";
}
