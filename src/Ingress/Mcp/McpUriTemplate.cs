using System.Text;
using System.Text.RegularExpressions;

namespace Broker.Ingress.Mcp;

/// <summary>
/// Whether a URI is one a resource template (RFC 6570) describes, to route a read of a templated resource to its server:
/// <c>{var}</c> matches one path segment, the other expressions (<c>{+var}</c>, <c>{#var}</c>, <c>{/var}</c>,
/// <c>{?a,b}</c>, …) anything.
/// </summary>
internal static class McpUriTemplate
{
    private static readonly TimeSpan MatchTimeout = TimeSpan.FromMilliseconds(100);

    public static bool Matches(string template, string uri)
    {
        ArgumentNullException.ThrowIfNull(template);
        ArgumentNullException.ThrowIfNull(uri);
        var pattern = new StringBuilder("^");
        var at = 0;
        while (at < template.Length)
        {
            var open = template.IndexOf('{', at);
            var close = open < 0 ? -1 : template.IndexOf('}', open);
            if (open < 0 || close < 0)
            {
                pattern.Append(Regex.Escape(template[at..]));
                break;
            }

            pattern.Append(Regex.Escape(template[at..open]));
            var expression = template[(open + 1)..close];
            var simple = expression.Length > 0 && (char.IsLetterOrDigit(expression[0]) || expression[0] == '_');
            pattern.Append(simple ? "[^/?#]+" : ".*");
            at = close + 1;
        }

        try
        {
            return Regex.IsMatch(uri, pattern.Append('$').ToString(), RegexOptions.CultureInvariant, MatchTimeout);
        }
        catch (RegexMatchTimeoutException)
        {
            return false;
        }
    }
}
