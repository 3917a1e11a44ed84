using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;

namespace Broker.Host.Tests.Keys;

/// <summary>HTTP helpers for the key tests: JSON posts with a bearer key, and the OpenAI error shape.</summary>
internal static class KeysApi
{
    public const string MasterKey = "sk-master-0123456789abcdef";

    public static string Yaml(string upstream, string? databaseUrl, string extraGeneral = "", string extraTop = "") => $$"""
        model_list:
          - model_name: gpt-4o
            litellm_params: { model: openai/gpt-4o, api_base: "{{upstream}}/v1", api_key: upstream-key }
            model_info: { access_groups: ["beta-models"] }
          - model_name: gpt-4o-mini
            litellm_params: { model: openai/gpt-4o-mini, api_base: "{{upstream}}/v1", api_key: upstream-key }
            model_info: { access_groups: ["beta-models"] }
          - model_name: o1
            litellm_params: { model: openai/o1, api_base: "{{upstream}}/v1", api_key: upstream-key }
        general_settings:
          master_key: {{MasterKey}}
        {{(databaseUrl is null ? "" : $"  database_url: \"{databaseUrl}\"")}}
        {{extraGeneral}}
        {{extraTop}}
        """;

    public static async Task<(HttpStatusCode Status, JsonNode? Body, HttpResponseMessage Response)> PostAsync(
        HttpClient http, string path, string? key, object body, IReadOnlyDictionary<string, string>? headers = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path.TrimStart('/'))
        {
            Content = new StringContent(body is JsonNode node ? node.ToJsonString() : System.Text.Json.JsonSerializer.Serialize(body), Encoding.UTF8, "application/json"),
        };
        if (key is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        }

        foreach (var (name, value) in headers ?? new Dictionary<string, string>())
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }

        var response = await http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, text.Length == 0 ? null : JsonNode.Parse(text), response);
    }

    public static async Task<(HttpStatusCode Status, JsonNode? Body)> GetAsync(HttpClient http, string path, string? key)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path.TrimStart('/'));
        if (key is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        }

        using var response = await http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, text.Length == 0 ? null : JsonNode.Parse(text));
    }

    public static Task<(HttpStatusCode Status, JsonNode? Body, HttpResponseMessage Response)> ChatAsync(
        HttpClient http, string? key, string model = "gpt-4o", string? user = null, IReadOnlyDictionary<string, string>? headers = null)
    {
        var body = new JsonObject
        {
            ["model"] = model,
            ["messages"] = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = "hi" }),
        };
        if (user is not null)
        {
            body["user"] = user;
        }

        return PostAsync(http, "v1/chat/completions", key, body, headers);
    }

    public static async Task<string> GenerateKeyAsync(HttpClient http, object body)
    {
        var (status, json, _) = await PostAsync(http, "key/generate", MasterKey, body);
        Assert.True(status == HttpStatusCode.OK, $"key/generate: {status} {json}");
        return json!["key"]!.GetValue<string>();
    }

    /// <summary>Asserts OpenAI's error envelope with exactly message/type/param/code, and returns the error object.</summary>
    public static JsonObject AssertOpenAiError(JsonNode? body, string? type = null)
    {
        var error = Assert.IsType<JsonObject>(body?["error"]);
        Assert.Equal(["code", "message", "param", "type"], error.Select(p => p.Key).Order().ToArray());
        Assert.False(string.IsNullOrEmpty(error["message"]?.GetValue<string>()));
        if (type is not null)
        {
            Assert.Equal(type, error["type"]?.GetValue<string>());
        }

        return error;
    }

    /// <summary>Polls until the condition holds or the deadline passes (generous: the machine is shared).</summary>
    public static async Task<bool> EventuallyAsync(Func<Task<bool>> condition, TimeSpan within)
    {
        var deadline = DateTime.UtcNow + within;
        while (DateTime.UtcNow < deadline)
        {
            if (await condition())
            {
                return true;
            }

            await Task.Delay(100);
        }

        return await condition();
    }
}
