using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Broker.Config.Model;

namespace Broker.Ingress.Guardrails.External;

/// <summary>The JSON POST every external guardrail makes; any failure (refused, non-2xx, not JSON, timeout) is a reason, never an exception.</summary>
internal static class GuardrailHttp
{
    public const string ClientName = "guardrails";

    /// <summary>How long an external guardrail may take before the request fails closed.</summary>
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(15);

    public static async Task<(JsonNode? Json, string? Failure)> PostAsync(
        IHttpClientFactory clients, string url, JsonNode body, Secret? bearer, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(Timeout);
        using var request = new HttpRequestMessage(HttpMethod.Post, url)
        {
            Content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json"),
        };
        if (bearer is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", bearer.Value);
        }

        try
        {
            using var response = await clients.CreateClient(ClientName).SendAsync(request, timeout.Token);
            var text = await response.Content.ReadAsStringAsync(timeout.Token);
            if (!response.IsSuccessStatusCode)
            {
                return (null, $"{url} answered {(int)response.StatusCode}");
            }

            return (JsonNode.Parse(text), null);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return (null, $"{url} did not answer within {Timeout.TotalSeconds:0} s");
        }
        catch (HttpRequestException ex)
        {
            return (null, $"{url} could not be reached ({ex.HttpRequestError})");
        }
        catch (System.Text.Json.JsonException)
        {
            return (null, $"{url} did not answer JSON");
        }
    }

    public static string Join(string baseUrl, string path) => baseUrl.TrimEnd('/') + path;
}
