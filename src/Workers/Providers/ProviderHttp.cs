using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Broker.Workers.Providers;

/// <summary>Sends one JSON request to a provider under a per-attempt timeout and classifies what comes back.</summary>
public sealed class ProviderHttp(IHttpClientFactory httpClientFactory, TimeProvider timeProvider)
{
    public const string ClientName = "providers";

    private static readonly MediaTypeHeaderValue Json = new("application/json") { CharSet = "utf-8" };

    /// <summary>
    /// Starts a streamed POST: returns the open response once the status line arrived within
    /// <paramref name="timeout"/> (the caller owns and disposes it), or the classified error.
    /// </summary>
    public Task<(HttpResponseMessage? Response, ProviderError? Error)> PostStreamAsync(
        string provider,
        Uri url,
        JsonObject payload,
        Action<HttpRequestHeaders> headers,
        TimeSpan timeout,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(headers);
        return PostStreamAsync(provider, url, payload, (request, _) => headers(request.Headers), timeout, cancellationToken);
    }

    /// <summary>
    /// As <see cref="PostStreamAsync(string, Uri, JsonObject, Action{HttpRequestHeaders}, TimeSpan, CancellationToken)"/>,
    /// with the request and its exact body bytes given to <paramref name="prepare"/> (request signing).
    /// </summary>
    public async Task<(HttpResponseMessage? Response, ProviderError? Error)> PostStreamAsync(
        string provider,
        Uri url,
        JsonObject payload,
        Action<HttpRequestMessage, byte[]> prepare,
        TimeSpan timeout,
        CancellationToken cancellationToken)
    {
        using var timeoutCts = new CancellationTokenSource(timeout, timeProvider);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeoutCts.Token);
        using var request = CreateRequest(url, payload, prepare);
        var client = httpClientFactory.CreateClient(ClientName);
        try
        {
            var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, linked.Token);
            if (response.IsSuccessStatusCode)
            {
                return (response, null);
            }

            using (response)
            {
                var text = await response.Content.ReadAsStringAsync(linked.Token);
                return (null, ProviderErrorClassifier.FromHttp(provider, (int)response.StatusCode, text, response.Headers));
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return (null, ProviderErrorClassifier.Timeout(provider, timeout));
        }
        catch (HttpRequestException ex)
        {
            return (null, ProviderErrorClassifier.Unreachable(provider, ex.HttpRequestError.ToString()));
        }
    }

    private static HttpRequestMessage CreateRequest(Uri url, JsonObject payload, Action<HttpRequestMessage, byte[]> prepare)
    {
        var body = JsonSerializer.SerializeToUtf8Bytes(payload);
        var request = new HttpRequestMessage(HttpMethod.Post, url)
        {
            Content = new ByteArrayContent(body),
        };
        request.Content.Headers.ContentType = Json;
        prepare(request, body);
        return request;
    }

    /// <summary>The server-sent events of a streamed response, as (event type, data) pairs.</summary>
    public static async IAsyncEnumerable<(string EventType, string Data)> ReadEventsAsync(
        HttpResponseMessage response, string provider, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(response);
        Stream body;
        try
        {
            body = await response.Content.ReadAsStreamAsync(cancellationToken);
        }
        catch (HttpRequestException ex)
        {
            throw new ProviderStreamException(ProviderErrorClassifier.Unreachable(provider, ex.HttpRequestError.ToString()));
        }

        await using (body)
        {
            var events = System.Net.ServerSentEvents.SseParser.Create(body).EnumerateAsync(cancellationToken);
            await using var enumerator = events.GetAsyncEnumerator(cancellationToken);
            while (true)
            {
                bool more;
                try
                {
                    more = await enumerator.MoveNextAsync();
                }
                catch (Exception ex) when (ex is HttpRequestException or IOException)
                {
                    throw new ProviderStreamException(ProviderErrorClassifier.Unreachable(provider, "stream broken: " + ex.Message));
                }

                if (!more)
                {
                    yield break;
                }

                yield return (enumerator.Current.EventType, enumerator.Current.Data);
            }
        }
    }

    public Task<(JsonObject? Body, HttpResponseHeaders? Headers, ProviderError? Error)> PostJsonAsync(
        string provider,
        Uri url,
        JsonObject payload,
        Action<HttpRequestHeaders> headers,
        TimeSpan timeout,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(headers);
        return PostJsonAsync(provider, url, payload, (request, _) => headers(request.Headers), timeout, cancellationToken);
    }

    /// <summary>A JSON POST whose request and exact body bytes go through <paramref name="prepare"/> first (request signing).</summary>
    public async Task<(JsonObject? Body, HttpResponseHeaders? Headers, ProviderError? Error)> PostJsonAsync(
        string provider,
        Uri url,
        JsonObject payload,
        Action<HttpRequestMessage, byte[]> prepare,
        TimeSpan timeout,
        CancellationToken cancellationToken)
    {
        using var timeoutCts = new CancellationTokenSource(timeout, timeProvider);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeoutCts.Token);
        using var request = CreateRequest(url, payload, prepare);

        var client = httpClientFactory.CreateClient(ClientName);
        try
        {
            using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, linked.Token);
            var text = await response.Content.ReadAsStringAsync(linked.Token);
            if (!response.IsSuccessStatusCode)
            {
                return (null, response.Headers, ProviderErrorClassifier.FromHttp(provider, (int)response.StatusCode, text, response.Headers));
            }

            try
            {
                if (JsonNode.Parse(text) is JsonObject body)
                {
                    return (body, response.Headers, null);
                }
            }
            catch (JsonException)
            {
                // fall through: not a JSON object
            }

            return (null, response.Headers, ProviderErrorClassifier.FromHttp(provider, 502, $"{provider} answered with a body that is not a JSON object", null));
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return (null, null, ProviderErrorClassifier.Timeout(provider, timeout));
        }
        catch (HttpRequestException ex)
        {
            return (null, null, ProviderErrorClassifier.Unreachable(provider, ex.HttpRequestError.ToString()));
        }
    }
}
