using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;

namespace Broker.Host.Tests.Reload;

/// <summary>Requests the reload tests make, with the master key of their configs.</summary>
internal static class ReloadHttp
{
    public const string MasterKey = "sk-reload-master-0001";

    public static Task<HttpResponseMessage> ChatAsync(HttpClient http, string model) =>
        PostAsync(http, "v1/chat/completions", new JsonObject
        {
            ["model"] = model,
            ["messages"] = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = "hi" }),
        });

    public static Task<HttpResponseMessage> PostAsync(HttpClient http, string path, JsonObject? body, string key = MasterKey) =>
        SendAsync(http, HttpMethod.Post, path, body, key);

    public static async Task<HttpResponseMessage> SendAsync(HttpClient http, HttpMethod method, string path, JsonObject? body, string key = MasterKey)
    {
        using var request = new HttpRequestMessage(method, path);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        if (body is not null)
        {
            request.Content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json");
        }

        return await http.SendAsync(request);
    }

    public static async Task<List<string>> ModelIdsAsync(HttpClient http)
    {
        using var response = await SendAsync(http, HttpMethod.Get, "v1/models", null);
        var json = await response.Content.ReadFromJsonAsync<JsonObject>();
        return [.. json!["data"]!.AsArray().Select(m => m!["id"]!.GetValue<string>())];
    }

    /// <summary>Polls <paramref name="condition"/> every 200 ms; fails after 45 s (a loaded machine), returns at once when it holds.</summary>
    public static async Task WaitUntilAsync(Func<Task<bool>> condition, string what)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (!await condition())
        {
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(45), $"within 45 s: {what}");
            await Task.Delay(200);
        }
    }

    /// <summary>Waits until a chat to <paramref name="model"/> answers <paramref name="status"/>.</summary>
    public static Task WaitForChatAsync(HttpClient http, string model, HttpStatusCode status) =>
        WaitUntilAsync(async () =>
        {
            using var chat = await ChatAsync(http, model);
            return chat.StatusCode == status;
        }, $"a chat to {model} answers {(int)status}");
}
