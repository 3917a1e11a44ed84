using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Broker.Host.Tests.Infrastructure;
using Broker.TestKit;

namespace Broker.Host.Tests.Files;

/// <summary>
/// Slow file uploads and downloads against a broker whose PostgreSQL pool has 2 connections: they must not hold one
/// while the client sends or reads, so key management and readiness keep answering; one key's uploads are limited.
/// </summary>
[Trait("Category", "Integration")]
public sealed class SlowTransferTests : IAsyncLifetime
{
    private const string MasterKey = "sk-slow-files-master";
    private const string Boundary = "slow-upload-boundary";
    private TestDatabase _db = null!;
    private BrokerRunner? _broker;

    public async Task InitializeAsync() => _db = await TestDatabase.CreateAsync();

    public async Task DisposeAsync()
    {
        if (_broker is not null)
        {
            await _broker.DisposeAsync();
        }

        await _db.DisposeAsync();
    }

    private async Task<BrokerRunner> StartAsync(int uploadsPerKey)
    {
        _broker = await BrokerRunner.StartEmbeddedAsync($$"""
            model_list:
              - model_name: mocked
                litellm_params: { model: openai/gpt-4o-mini, mock_response: "ok" }
            general_settings:
              master_key: {{MasterKey}}
              database_url: "{{_db.Url}}"
              database_connection_pool_limit: 2
            """, settings: new Dictionary<string, string?> { ["Ingress:MaxConcurrentUploadsPerKey"] = uploadsPerKey.ToString(System.Globalization.CultureInfo.InvariantCulture) });
        return _broker;
    }

    [Fact]
    public async Task Upload_ManySlowUploadsBeyondThePool_KeyGenerateAndReadinessStillAnswer()
    {
        var broker = await StartAsync(uploadsPerKey: 50);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var uploads = Enumerable.Range(0, 6).Select(i => UploadAsync(broker, $"slow-{i}.jsonl", Line(i), release.Task)).ToList();
        await WaitForUploadingAsync(6, uploads);

        var watch = Stopwatch.StartNew();
        using (var generate = Request(HttpMethod.Post, "key/generate", "{}"))
        using (var response = await broker.Http.SendAsync(generate))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        using (var readiness = await broker.Http.GetAsync(new Uri("health/readiness", UriKind.Relative)))
        {
            Assert.Equal(HttpStatusCode.OK, readiness.StatusCode);
        }

        // milliseconds when no connection is held; a broker whose uploads hold the pool never answers while they are open
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(10), $"key/generate and readiness took {watch.Elapsed} while uploads were open");
        Assert.All(uploads, u => Assert.False(u.IsCompleted, "an upload ended before the check: the test did not hold them open"));

        release.SetResult();
        var files = await Task.WhenAll(uploads);
        for (var i = 0; i < files.Length; i++)
        {
            Assert.Equal(HttpStatusCode.OK, files[i].Status);
            using var content = await broker.Http.SendAsync(Request(HttpMethod.Get, $"v1/files/{files[i].Body["id"]}/content"));
            Assert.Equal(Line(i), await content.Content.ReadAsStringAsync());
        }
    }

    [Fact]
    public async Task Upload_MoreConcurrentThanTheKeysLimit_429InOpenAiShapeThenServedAgain()
    {
        var broker = await StartAsync(uploadsPerKey: 2);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var open = Enumerable.Range(0, 2).Select(i => UploadAsync(broker, $"open-{i}.jsonl", Line(i), release.Task)).ToList();
        await WaitForUploadingAsync(2, open);

        var refused = await UploadAsync(broker, "third.jsonl", Line(9), Task.CompletedTask);

        Assert.Equal(HttpStatusCode.TooManyRequests, refused.Status);
        Assert.Equal("rate_limit_error", refused.Body["error"]!["type"]!.GetValue<string>());
        Assert.Equal("too_many_concurrent_uploads", refused.Body["error"]!["code"]!.GetValue<string>());
        release.SetResult();
        Assert.All(await Task.WhenAll(open), u => Assert.Equal(HttpStatusCode.OK, u.Status));
        var after = await UploadAsync(broker, "after.jsonl", Line(10), Task.CompletedTask);
        Assert.Equal(HttpStatusCode.OK, after.Status);
    }

    [Fact]
    public async Task Upload_AbandonedMidway_NeverListedAndLeavesNoRows()
    {
        var broker = await StartAsync(uploadsPerKey: 4);
        using var client = new HttpClient { BaseAddress = new Uri(broker.BaseUrl + "/") };
        var abandon = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var upload = client.SendAsync(SlowUploadRequest("gone.jsonl", Line(1), abandon.Task, abortInstead: true));
        await WaitForUploadingAsync(1, [upload]);

        using (var list = await broker.Http.SendAsync(Request(HttpMethod.Get, "v1/files")))
        {
            Assert.Empty(JsonNode.Parse(await list.Content.ReadAsStringAsync())!["data"]!.AsArray());
        }

        abandon.SetResult();
        await Assert.ThrowsAnyAsync<Exception>(() => upload);
        var watch = Stopwatch.StartNew();
        while (await _db.ScalarAsync<long>("SELECT count(*) FROM broker_files") > 0 && watch.Elapsed < TimeSpan.FromSeconds(15))
        {
            await Task.Delay(100);
        }

        Assert.Equal(0L, await _db.ScalarAsync<long>("SELECT count(*) FROM broker_files"));
    }

    [Fact]
    public async Task Download_SlowReadersBeyondThePool_KeyGenerateStillAnswers()
    {
        var broker = await StartAsync(uploadsPerKey: 4);
        // larger than the loopback socket buffers, so a reader that stops reading keeps the server's copy waiting
        var big = new byte[12 * 1024 * 1024];
        new Random(3).NextBytes(big);
        using var form = new MultipartFormDataContent { { new StringContent("batch"), "purpose" }, { new ByteArrayContent(big), "file", "big.bin" } };
        using var uploadRequest = Request(HttpMethod.Post, "v1/files", null);
        uploadRequest.Content = form;
        using var uploaded = await broker.Http.SendAsync(uploadRequest);
        var id = JsonNode.Parse(await uploaded.Content.ReadAsStringAsync())!["id"]!.GetValue<string>();

        using var client = new HttpClient { BaseAddress = new Uri(broker.BaseUrl + "/") };
        var readers = new List<HttpResponseMessage>();
        var firstRead = 0;
        for (var i = 0; i < 4; i++)
        {
            var response = await client.SendAsync(Request(HttpMethod.Get, $"v1/files/{id}/content"), HttpCompletionOption.ResponseHeadersRead);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var stream = await response.Content.ReadAsStreamAsync();
            var read = await stream.ReadAsync(new byte[1024]);
            Assert.True(read > 0);
            firstRead = readers.Count == 0 ? read : firstRead;
            readers.Add(response); // and then reads nothing more
        }

        await Task.Delay(TimeSpan.FromSeconds(1));
        var watch = Stopwatch.StartNew();
        using (var generate = Request(HttpMethod.Post, "key/generate", "{}"))
        using (var response = await broker.Http.SendAsync(generate))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(10), $"key/generate took {watch.Elapsed} while downloads were stalled");
        // a reader that resumes gets the whole file
        var whole = new MemoryStream();
        await (await readers[0].Content.ReadAsStreamAsync()).CopyToAsync(whole);
        Assert.Equal(big.Length - firstRead, whole.Length);
        readers.ForEach(r => r.Dispose());
    }

    /// <summary>
    /// Waits until the broker has begun storing <paramref name="count"/> uploads (their rows exist, status 'uploading'):
    /// each has sent its headers and first bytes and the server is reading its body.
    /// </summary>
    private async Task WaitForUploadingAsync(long count, IEnumerable<Task> uploads)
    {
        var watch = Stopwatch.StartNew();
        long seen;
        while ((seen = await _db.ScalarAsync<long>("SELECT count(*) FROM broker_files WHERE status = 'uploading'")) < count)
        {
            Assert.All(uploads, u => Assert.False(u.IsCompleted, $"an upload ended before it was seen in progress: {u.Status}"));
            Assert.True(watch.Elapsed < TimeSpan.FromSeconds(60), $"{seen} of {count} uploads in progress after {watch.Elapsed}");
            await Task.Delay(50);
        }
    }

    private static string Line(int i) => $"{{\"custom_id\":\"c{i}\",\"method\":\"POST\",\"url\":\"/v1/chat/completions\",\"body\":{{\"model\":\"mocked\",\"messages\":[{{\"role\":\"user\",\"content\":\"hi {i}\"}}]}}}}\n";

    private static HttpRequestMessage Request(HttpMethod method, string path, string? json = null)
    {
        var request = new HttpRequestMessage(method, path);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", MasterKey);
        if (json is not null)
        {
            request.Content = new StringContent(json, Encoding.UTF8, "application/json");
        }

        return request;
    }

    /// <summary>A multipart upload that sends its headers and the first bytes at once and the rest when <paramref name="release"/> completes.</summary>
    private static HttpRequestMessage SlowUploadRequest(string name, string content, Task release, bool abortInstead = false)
    {
        var request = Request(HttpMethod.Post, "v1/files", null);
        request.Content = new SlowMultipart(name, content, release, abortInstead);
        return request;
    }

    private static async Task<(HttpStatusCode Status, JsonObject Body)> UploadAsync(BrokerRunner broker, string name, string content, Task release)
    {
        using var request = SlowUploadRequest(name, content, release);
        using var response = await broker.Http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, JsonNode.Parse(text) as JsonObject ?? throw new InvalidOperationException($"not JSON: '{text}'"));
    }

    private sealed class SlowMultipart : HttpContent
    {
        private readonly string _name;
        private readonly string _content;
        private readonly Task _release;
        private readonly bool _abortInstead;

        public SlowMultipart(string name, string content, Task release, bool abortInstead)
        {
            (_name, _content, _release, _abortInstead) = (name, content, release, abortInstead);
            Headers.ContentType = MediaTypeHeaderValue.Parse($"multipart/form-data; boundary={Boundary}");
        }

        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
        {
            var head = $"--{Boundary}\r\nContent-Disposition: form-data; name=\"purpose\"\r\n\r\nbatch\r\n" +
                       $"--{Boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{_name}\"\r\nContent-Type: application/octet-stream\r\n\r\n";
            await stream.WriteAsync(Encoding.UTF8.GetBytes(head + _content[..10]));
            await stream.FlushAsync();
            await _release;

            if (_abortInstead)
            {
                throw new IOException("the client gave up mid-upload");
            }

            await stream.WriteAsync(Encoding.UTF8.GetBytes(_content[10..] + $"\r\n--{Boundary}--\r\n"));
        }

        protected override bool TryComputeLength(out long length)
        {
            length = 0;
            return false;
        }
    }
}
