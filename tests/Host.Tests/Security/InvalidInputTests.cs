using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;

namespace Broker.Host.Tests.Security;

/// <summary>Client input that used to get a 500 or a hang now gets a 400 in the API's shape, naming the parameter.</summary>
[Trait("Category", "Integration")]
public sealed class InvalidInputTests(MalformedInputFixture fixture) : IClassFixture<MalformedInputFixture>
{
    private const string Messages = """[{"role":"user","content":"hi"}]""";

    [Theory]
    [InlineData("\"n\":-1", "n")]
    [InlineData("\"max_tokens\":-5", "max_tokens")]
    [InlineData("\"max_completion_tokens\":0", "max_completion_tokens")]
    [InlineData("\"response_format\":\"json\"", "response_format")]
    [InlineData("\"response_format\":{\"type\":\"yaml\"}", "response_format.type")]
    [InlineData("\"metadata\":\"tags\"", "metadata")]
    [InlineData("\"stream\":true,\"stream_options\":\"usage\"", "stream_options")]
    [InlineData("\"temperature\":1e400", "temperature")]
    public async Task ChatCompletion_InvalidParameter_400NamingIt(string field, string param)
    {
        var (status, text) = await fixture.PostAsync("v1/chat/completions", $$"""{"model":"mocked","messages":{{Messages}},{{field}}}""");

        var error = ErrorShape.Assert4xx("v1/chat/completions", status, text);
        Assert.Equal(400, status);
        Assert.Equal("invalid_request_error", error["type"]!.GetValue<string>());
        Assert.Equal(param, error["param"]?.GetValue<string>());
    }

    [Theory]
    [InlineData("""{"model":"mocked","messages":[{"role":"user","content":"a\ud800b"}]}""", "surrogate")]
    [InlineData("""{"model":"mocked","messages":[{"role":"user","content":"hi"}],"model":"other"}""", "Duplicate")]
    public async Task ChatCompletion_UnreadableJson_400AtOnce(string body, string reason)
    {
        var watch = Stopwatch.StartNew();

        var (status, text) = await fixture.PostAsync("v1/chat/completions", body);

        ErrorShape.Assert4xx("v1/chat/completions", status, text);
        Assert.Equal(400, status);
        Assert.Contains(reason, text, StringComparison.OrdinalIgnoreCase);
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(5), $"took {watch.Elapsed}");
    }

    [Fact]
    public async Task ChatCompletion_InvalidUtf8Bytes_400()
    {
        byte[] body = [.. """{"model":"mocked","messages":[{"role":"user","content":"a"""u8.ToArray(), 0xc3, 0x28, .. "\"}]}"u8.ToArray()];

        var (status, text) = await fixture.SendAsync(HttpMethod.Post, "v1/chat/completions", body);

        ErrorShape.Assert4xx("v1/chat/completions", status, text);
        Assert.Contains("UTF-8", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Messages_LoneSurrogate_400InAnthropicShape()
    {
        var (status, text) = await fixture.PostAsync("v1/messages", """{"model":"mocked","max_tokens":5,"messages":[{"role":"user","content":"\udfff"}]}""");

        var error = ErrorShape.Assert4xx("v1/messages", status, text);
        Assert.Equal(400, status);
        Assert.Equal("invalid_request_error", error["type"]!.GetValue<string>());
    }

    [Fact]
    public async Task Messages_MetadataNotAnObject_400InAnthropicShape()
    {
        var (status, text) = await fixture.PostAsync("v1/messages", $$"""{"model":"mocked","max_tokens":5,"messages":{{Messages}},"metadata":"x"}""");

        ErrorShape.Assert4xx("v1/messages", status, text);
        Assert.Contains("metadata", text, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("\"completion_window\":\"2000000000d\"", "completion_window")]
    [InlineData("\"completion_window\":\"99999999h\"", "completion_window")]
    [InlineData("\"completion_window\":\"9223372036854775807s\"", "completion_window")]
    [InlineData("\"completion_window\":\"24h\",\"metadata\":{\"k\":\"a\\u0000b\"}", "metadata")]
    [InlineData("\"completion_window\":\"24h\",\"metadata\":\"x\"", "metadata")]
    public async Task Batch_InvalidWindowOrMetadata_400NamingIt(string field, string param)
    {
        var (status, text) = await fixture.PostAsync("v1/batches", $$"""{"input_file_id":"file-x","endpoint":"/v1/chat/completions",{{field}}}""");

        var error = ErrorShape.Assert4xx("v1/batches", status, text);
        Assert.Equal(400, status);
        Assert.Equal(param, error["param"]?.GetValue<string>());
    }

    [Fact]
    public async Task Batch_NulInInputFileId_404NotAServerError()
    {
        var (status, text) = await fixture.PostAsync("v1/batches", """{"input_file_id":"file-\u0000","endpoint":"/v1/chat/completions","completion_window":"24h"}""");

        ErrorShape.Assert4xx("v1/batches", status, text);
    }

    [Fact]
    public async Task FileUpload_NulInName_400()
    {
        var (status, text) = await UploadAsync("bad\u0000name.jsonl", "{}\n");

        var error = ErrorShape.Assert4xx("v1/files", status, text);
        Assert.Equal(400, status);
        Assert.Equal("file", error["param"]?.GetValue<string>());
    }

    [Fact]
    public async Task FileContent_NonAsciiName_DownloadsWithRfc6266Disposition()
    {
        const string name = "données-日本 \"q\".jsonl";
        var (status, text) = await UploadAsync(name, "{\"a\":1}\n");
        Assert.Equal(200, status);
        var id = JsonNode.Parse(text)!["id"]!.GetValue<string>();

        using var request = new HttpRequestMessage(HttpMethod.Get, $"v1/files/{id}/content");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", fixture.Key);
        using var response = await fixture.Broker.Http.SendAsync(request);

        Assert.Equal(200, (int)response.StatusCode);
        Assert.Equal("{\"a\":1}\n", await response.Content.ReadAsStringAsync());
        var disposition = response.Content.Headers.ContentDisposition!;
        Assert.Equal("attachment", disposition.DispositionType);
        Assert.Equal(name, disposition.FileNameStar);
    }

    [Theory]
    [InlineData("v1/files?limit=abc", "limit")]
    [InlineData("v1/batches?limit=abc", "limit")]
    public async Task List_LimitNotANumber_400WithOpenAiBody(string path, string mentioned)
    {
        var (status, text) = await fixture.SendAsync(HttpMethod.Get, path, null);

        ErrorShape.Assert4xx(path, status, text);
        Assert.Equal(400, status);
        Assert.Contains(mentioned, text, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("key/list?page=2147483647&size=100", "page")]
    [InlineData("user/list?page=2147483647&page_size=100", "page")]
    [InlineData("spend/logs?start_date=2024-01-01&end_date=9999-12-31", "end_date")]
    [InlineData("global/spend/report?start_date=0001-01-01&end_date=9999-12-31", "start_date")]
    [InlineData("spend/logs?start_date=2025-01-02&end_date=2025-01-01", "end_date")]
    [InlineData("spend/logs?user_id=a%00b", null)]
    public async Task AdminList_HugePageOrDateRange_400(string path, string? param)
    {
        var (status, text) = await fixture.SendAsync(HttpMethod.Get, path, null, MalformedInputFixture.MasterKey);

        var error = ErrorShape.Assert4xx(path, status, text);
        Assert.Equal(400, status);
        if (param is not null)
        {
            Assert.Equal(param, error["param"]?.GetValue<string>());
        }
    }

    [Fact]
    public async Task CountTokens_200kCharactersWithoutSpaces_CountedWithinSeconds()
    {
        var body = new JsonObject
        {
            ["model"] = "mocked",
            ["messages"] = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = new string('\u4e2d', 200_000) }),
        };
        var watch = Stopwatch.StartNew();

        // a single tokenizer call over this text took minutes of CPU (one token per character, no whitespace: one
        // pre-token, which the tokenizer merges in quadratic time); the bound is loose for a loaded machine
        var (status, text) = await fixture.PostAsync("v1/messages/count_tokens", body.ToJsonString(), timeout: TimeSpan.FromSeconds(60));

        Assert.Equal(200, status);
        Assert.InRange(JsonNode.Parse(text)!["input_tokens"]!.GetValue<int>(), 200_000, 200_010);
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(30), $"took {watch.Elapsed}");
    }

    [Fact]
    public async Task ChatCompletion_MockResponseWith200kCharacterPrompt_UsageCountedWithinSeconds()
    {
        var body = new JsonObject
        {
            ["model"] = "mocked",
            ["messages"] = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = new string('\u4e2d', 200_000) }),
        };
        var watch = Stopwatch.StartNew();

        // the worker counts the prompt of a mock answer itself
        var (status, text) = await fixture.PostAsync("v1/chat/completions", body.ToJsonString(), timeout: TimeSpan.FromSeconds(60));

        Assert.Equal(200, status);
        Assert.InRange(JsonNode.Parse(text)!["usage"]!["prompt_tokens"]!.GetValue<int>(), 200_000, 200_010);
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(30), $"took {watch.Elapsed}");
    }

    private async Task<(int Status, string Text)> UploadAsync(string filename, string content)
    {
        using var form = new MultipartFormDataContent("x-boundary");
        form.Add(new StringContent("batch"), "purpose");
        var file = new ByteArrayContent(Encoding.UTF8.GetBytes(content));
        var disposition = new ContentDispositionHeaderValue("form-data") { Name = "\"file\"", FileNameStar = filename };
        file.Headers.ContentDisposition = disposition;
        form.Add(file);
        using var request = new HttpRequestMessage(HttpMethod.Post, "v1/files") { Content = form };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", fixture.Key);
        using var response = await fixture.Broker.Http.SendAsync(request);
        return ((int)response.StatusCode, await response.Content.ReadAsStringAsync());
    }
}
