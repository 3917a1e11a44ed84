using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Broker.Workers.Providers.Bedrock;

/// <summary>
/// AWS Signature Version 4 for one HTTP request: signs <c>host</c>, <c>x-amz-date</c> and (temporary credentials)
/// <c>x-amz-security-token</c> over the exact body bytes, and sets those headers and <c>Authorization</c>.
/// Path segments are encoded once more for the canonical request, as every service but S3 expects.
/// </summary>
public static class AwsSigV4
{
    public const string Algorithm = "AWS4-HMAC-SHA256";

    public static void Sign(HttpRequestMessage request, ReadOnlySpan<byte> body, AwsCredentials credentials, string region, string service, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(credentials);
        var amzDate = now.UtcDateTime.ToString("yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture);
        request.Headers.Remove("x-amz-date");
        request.Headers.Remove("x-amz-security-token");
        request.Headers.Remove("Authorization");
        request.Headers.TryAddWithoutValidation("x-amz-date", amzDate);
        if (!string.IsNullOrEmpty(credentials.SessionToken))
        {
            request.Headers.TryAddWithoutValidation("x-amz-security-token", credentials.SessionToken);
        }

        request.Headers.TryAddWithoutValidation("Authorization",
            Authorization(request.Method.Method, request.RequestUri!, body, credentials, region, service, amzDate));
    }

    /// <summary>The <c>Authorization</c> header value for a request with these parts.</summary>
    public static string Authorization(
        string method, Uri url, ReadOnlySpan<byte> body, AwsCredentials credentials, string region, string service, string amzDate)
    {
        ArgumentNullException.ThrowIfNull(url);
        ArgumentNullException.ThrowIfNull(credentials);
        var headers = new SortedDictionary<string, string>(StringComparer.Ordinal)
        {
            ["host"] = url.Authority,
            ["x-amz-date"] = amzDate,
        };
        if (!string.IsNullOrEmpty(credentials.SessionToken))
        {
            headers["x-amz-security-token"] = credentials.SessionToken;
        }

        var signedHeaders = string.Join(';', headers.Keys);
        var canonicalRequest = string.Join('\n',
            method,
            CanonicalPath(url.AbsolutePath),
            CanonicalQuery(url.Query),
            string.Concat(headers.Select(h => $"{h.Key}:{h.Value.Trim()}\n")),
            signedHeaders,
            Hex(SHA256.HashData(body)));

        var date = amzDate[..8];
        var scope = $"{date}/{region}/{service}/aws4_request";
        var stringToSign = string.Join('\n', Algorithm, amzDate, scope, Hex(SHA256.HashData(Encoding.UTF8.GetBytes(canonicalRequest))));

        var key = Hmac(Encoding.UTF8.GetBytes("AWS4" + credentials.SecretAccessKey), date);
        key = Hmac(key, region);
        key = Hmac(key, service);
        key = Hmac(key, "aws4_request");
        var signature = Hex(Hmac(key, stringToSign));
        return $"{Algorithm} Credential={credentials.AccessKeyId}/{scope}, SignedHeaders={signedHeaders}, Signature={signature}";
    }

    /// <summary>Each segment of the (already escaped) path URI-encoded again; <c>/</c> for an empty path.</summary>
    public static string CanonicalPath(string escapedPath)
    {
        ArgumentNullException.ThrowIfNull(escapedPath);
        if (escapedPath.Length == 0)
        {
            return "/";
        }

        return string.Join('/', escapedPath.Split('/').Select(Encode));
    }

    private static string CanonicalQuery(string query)
    {
        var trimmed = query.TrimStart('?');
        if (trimmed.Length == 0)
        {
            return "";
        }

        return string.Join('&', trimmed.Split('&')
            .Select(pair =>
            {
                var eq = pair.IndexOf('=', StringComparison.Ordinal);
                var name = Uri.UnescapeDataString(eq < 0 ? pair : pair[..eq]);
                var value = eq < 0 ? "" : Uri.UnescapeDataString(pair[(eq + 1)..]);
                return (Name: Encode(name), Value: Encode(value));
            })
            .OrderBy(p => p.Name, StringComparer.Ordinal)
            .ThenBy(p => p.Value, StringComparer.Ordinal)
            .Select(p => $"{p.Name}={p.Value}"));
    }

    /// <summary>RFC 3986 encoding: everything but <c>A-Z a-z 0-9 - _ . ~</c> as upper-case <c>%XX</c> of its UTF-8 bytes.</summary>
    public static string Encode(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        var builder = new StringBuilder(value.Length);
        foreach (var b in Encoding.UTF8.GetBytes(value))
        {
            var c = (char)b;
            if (c is (>= 'A' and <= 'Z') or (>= 'a' and <= 'z') or (>= '0' and <= '9') or '-' or '_' or '.' or '~')
            {
                builder.Append(c);
            }
            else
            {
                builder.Append('%').Append(b.ToString("X2", CultureInfo.InvariantCulture));
            }
        }

        return builder.ToString();
    }

    private static byte[] Hmac(byte[] key, string data) => HMACSHA256.HashData(key, Encoding.UTF8.GetBytes(data));

    private static string Hex(byte[] bytes) => Convert.ToHexStringLower(bytes);
}
