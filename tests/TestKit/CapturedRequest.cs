using System.Text.Json.Nodes;

namespace Broker.TestKit;

/// <summary>One request as a fake provider received it, down to the bytes (signatures are computed over them).</summary>
/// <param name="Method">HTTP method.</param>
/// <param name="RawTarget">The request target exactly as sent, still percent-encoded (<c>/model/a%3A0/converse</c>).</param>
/// <param name="Path">The decoded path.</param>
/// <param name="Query">The query string with its <c>?</c>, or empty.</param>
/// <param name="Headers">Headers, names in lower case.</param>
/// <param name="Body">The body's bytes.</param>
public sealed record CapturedRequest(string Method, string RawTarget, string Path, string Query, IReadOnlyDictionary<string, string> Headers, byte[] Body)
{
    public JsonObject Json => JsonNode.Parse(Body) as JsonObject ?? [];

    /// <summary>RawTarget without its query.</summary>
    public string RawPath => RawTarget.Split('?')[0];
}
