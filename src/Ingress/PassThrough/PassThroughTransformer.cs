using System.Globalization;
using System.Net.Http.Headers;
using Broker.Config.Model;
using Microsoft.AspNetCore.Http;
using Yarp.ReverseProxy.Forwarder;

namespace Broker.Ingress.PassThrough;

/// <summary>
/// What one pass-through entry changes on the way: the target URL (with the subpath and the client's query), the
/// client's headers only with <c>forward_headers</c> (and never the credentials Broker checked), the configured
/// headers on top; on the way back Broker's own <c>x-litellm-response-cost</c>. Hop-by-hop headers are YARP's to drop.
/// </summary>
internal sealed class PassThroughTransformer(PassThroughEndpoint endpoint, TimeProvider time) : HttpTransformer
{
    /// <summary>Headers a Broker key arrives in (<see cref="Auth.AuthFilter.ReadKey"/>).</summary>
    private static readonly string[] CredentialHeaders = ["Authorization", "x-api-key", "api-key", "x-litellm-api-key"];

    private static readonly HashSet<string> ContentHeaders = new(StringComparer.OrdinalIgnoreCase)
    {
        "Allow", "Content-Disposition", "Content-Encoding", "Content-Language", "Content-Length", "Content-Location", "Content-MD5",
        "Content-Range", "Content-Type", "Expires", "Last-Modified",
    };

    private static readonly object FirstByteKey = new();

    public PassThroughEndpoint Endpoint { get; } = endpoint;

    /// <summary>When the target's response headers arrived (a <see cref="TimeProvider"/> timestamp), else null.</summary>
    public static long? FirstByteAt(HttpContext http) => http.Items.TryGetValue(FirstByteKey, out var at) ? at as long? : null;

    /// <summary>The URL a request for <paramref name="request"/> goes to.</summary>
    public Uri TargetOf(HttpRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var target = Endpoint.Target;
        var baseUrl = target.GetLeftPart(UriPartial.Path);
        if (Endpoint.IncludeSubpath && request.Path.StartsWithSegments(Endpoint.Path, StringComparison.OrdinalIgnoreCase, out var rest) && rest.HasValue)
        {
            baseUrl = baseUrl.TrimEnd('/') + rest.ToUriComponent();
        }

        var client = request.QueryString.HasValue ? request.QueryString.Value![1..] : "";
        var query = target.Query.Length > 0
            ? target.Query + (client.Length > 0 ? "&" + client : "")
            : client.Length > 0 ? "?" + client : "";
        return new Uri(baseUrl + query);
    }

    public override async ValueTask TransformRequestAsync(
        HttpContext httpContext, HttpRequestMessage proxyRequest, string destinationPrefix, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(httpContext);
        ArgumentNullException.ThrowIfNull(proxyRequest);
        await base.TransformRequestAsync(httpContext, proxyRequest, destinationPrefix, cancellationToken);
        proxyRequest.RequestUri = TargetOf(httpContext.Request);
        proxyRequest.Headers.Host = null;
        if (!Endpoint.ForwardHeaders)
        {
            // only what describes the body (Content-Type, Content-Encoding, ...) stays
            proxyRequest.Headers.Clear();
        }
        else if (Endpoint.Auth)
        {
            foreach (var name in CredentialHeaders)
            {
                proxyRequest.Headers.Remove(name);
            }
        }

        // the admin UI's session cookie is a credential of this gateway: it never reaches a target, whatever the entry says
        DropUiSessionCookie(proxyRequest);

        foreach (var (name, value) in Endpoint.Headers)
        {
            // each kind of header has its own collection (and throws on the other's names)
            HttpHeaders? headers = ContentHeaders.Contains(name) ? proxyRequest.Content?.Headers : proxyRequest.Headers;
            if (headers is not null)
            {
                headers.Remove(name);
                headers.TryAddWithoutValidation(name, value.Value);
            }
        }
    }

    public override async ValueTask<bool> TransformResponseAsync(
        HttpContext httpContext, HttpResponseMessage? proxyResponse, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(httpContext);
        var copy = await base.TransformResponseAsync(httpContext, proxyResponse, cancellationToken);
        if (proxyResponse is null)
        {
            return copy;
        }

        httpContext.Items[FirstByteKey] = time.GetTimestamp();
        // the cost is Broker's to say (it settles the caller's budget reservation), never the target's
        httpContext.Response.Headers.Remove("x-litellm-response-cost");
        if ((int)proxyResponse.StatusCode < 400 && Endpoint.CostPerRequest is { } cost && cost > 0)
        {
            httpContext.Response.Headers["x-litellm-response-cost"] = cost.ToString(CultureInfo.InvariantCulture);
        }

        return copy;
    }

    private static void DropUiSessionCookie(HttpRequestMessage proxyRequest)
    {
        if (!proxyRequest.Headers.TryGetValues("Cookie", out var values))
        {
            return;
        }

        var kept = values
            .SelectMany(v => v.Split(';'))
            .Select(c => c.Trim())
            .Where(c => c.Length > 0 && !c.StartsWith(Ui.UiCookieAuth.CookieName + "=", StringComparison.Ordinal))
            .ToList();
        proxyRequest.Headers.Remove("Cookie");
        if (kept.Count > 0)
        {
            proxyRequest.Headers.TryAddWithoutValidation("Cookie", string.Join("; ", kept));
        }
    }
}
