using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Broker.Host.Composition;
using Broker.Host.Tests.Infrastructure;
using Broker.TestKit;
using RabbitMQ.Client;

namespace Broker.Host.Tests.EndToEnd;

/// <summary>
/// Workers run as real <c>broker --role workers</c> processes and one is killed with SIGKILL (kill -9) while it holds
/// requests: RabbitMQ gives its unacknowledged commands to the surviving worker. Every request is answered exactly once,
/// and no streamed client ever receives text of two provider calls joined together.
/// </summary>
[Trait("Category", "Integration")]
public sealed class WorkerKillTests(RabbitMqFixture rabbit) : IClassFixture<RabbitMqFixture>
{
    private const string Queue = "model-group.chat";
    private const int Words = 25;

    private static string Yaml(FakeUpstream upstream) => $$"""
        model_list:
          - model_name: chat
            litellm_params: { model: openai/gpt-4o, api_base: "{{upstream.BaseUrl}}/v1", api_key: k }
        router_settings:
          timeout: 120
        """;

    [Fact]
    public async Task CompleteChat_WorkerKilledMidFlight_EveryRequestAnsweredOnce()
    {
        const int count = 8;
        await using var upstream = await FakeUpstream.StartOpenAiAsync();
        // each answer names the provider call and the prompt it answers
        upstream.ReplyTextFor = (call, body) => $"call {call} answers {body["messages"]![0]!["content"]}";
        // the first calls (one per request) are held until the kill: the killed worker cannot have answered any yet
        var killed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        upstream.HoldAnswer = (call, aborted) => call <= count ? killed.Task.WaitAsync(aborted) : Task.CompletedTask;
        await using var setup = await Setup.StartAsync(rabbit, upstream);
        await using var workerA = setup.StartWorker();
        await using var workerB = setup.StartWorker();
        await setup.WaitForConsumersAsync(2, workerA, workerB);

        var answers = Enumerable.Range(0, count).Select(i => ChatAsync(setup.Broker.Http, $"q{i}")).ToList();
        // every request is at the provider, held by one of the two workers
        await WaitUntilAsync(() => upstream.Requests.Count >= count, TimeSpan.FromSeconds(60), () => "requests at the provider: " + upstream.Requests.Count);
        await workerA.Kill();
        killed.SetResult();

        var results = await Task.WhenAll(answers).WaitAsync(TimeSpan.FromSeconds(90));

        for (var i = 0; i < count; i++)
        {
            Assert.True(results[i].Status == HttpStatusCode.OK, $"q{i}: {results[i].Status} {results[i].Text}\n{workerB.Log}");
            Assert.Matches($"^call [0-9]+ answers q{i}$", results[i].Text);
        }

        // the killed worker's requests were called again by the survivor, each answered once: no answer lost or shared
        Assert.Equal(count, results.Select(r => r.Text).Distinct().Count());
        Assert.InRange(upstream.Requests.Count, count + 1, 2 * count);
    }

    [Fact]
    public async Task StreamChat_WorkerKilledMidStream_NoClientGetsSplicedText()
    {
        await using var upstream = await FakeUpstream.StartOpenAiAsync();
        // generation n is "g{n}w0 g{n}w1 ...": a stream holding words of two generations is spliced
        upstream.ReplyTextFor = (call, _) => string.Join(' ', Enumerable.Range(0, Words).Select(i => $"g{call}w{i}"));
        upstream.ChunkDelay = TimeSpan.FromMilliseconds(100);
        // the first generation is held until the kill: call 1 sends nothing (its client has received nothing when its
        // worker dies) and calls 2-5 stop after a few words (every one of those clients is mid-stream at the kill)
        const int firstGeneration = 5;
        const int wordsBeforeKill = 3;
        var killed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        upstream.HoldAnswer = (call, aborted) => call == 1 ? killed.Task.WaitAsync(aborted) : Task.CompletedTask;
        upstream.HoldChunk = (call, chunk, aborted) =>
            call <= firstGeneration && chunk >= wordsBeforeKill ? killed.Task.WaitAsync(aborted) : Task.CompletedTask;
        await using var setup = await Setup.StartAsync(rabbit, upstream);
        await using var workerA = setup.StartWorker();
        await setup.WaitForConsumersAsync(1, workerA);

        var quiet = new StreamRead("openai");
        var quietTask = StreamAsync(setup.Broker.Http, quiet);
        await WaitUntilAsync(() => upstream.Requests.Count >= 1, TimeSpan.FromSeconds(30), () => "the first request did not reach the provider");
        var streaming = new List<StreamRead> { new("openai"), new("openai"), new("openai"), new("anthropic") };
        // each mid-stream client sends an Idempotency-Key: a repeat after the broken stream must not run the request again
        var keys = streaming.ToDictionary(s => s, _ => Guid.NewGuid().ToString());
        var tasks = streaming.Select(s => StreamAsync(setup.Broker.Http, s, keys[s])).ToList();
        await WaitUntilAsync(() => streaming.All(s => s.WordCount >= wordsBeforeKill), TimeSpan.FromSeconds(60),
            () => "streams did not start: " + string.Join(", ", streaming.Select(s => s.WordCount)) + "\n" + workerA.Log);

        Assert.Equal(firstGeneration, upstream.Requests.Count);
        await workerA.Kill();
        killed.SetResult();
        // the commands it held wait in the queue until another worker takes them
        await using var workerB = setup.StartWorker();

        await Task.WhenAll(tasks.Append(quietTask)).WaitAsync(TimeSpan.FromSeconds(120));

        foreach (var read in streaming.Append(quiet))
        {
            read.AssertOneGeneration();
        }

        // the client that had received nothing got the redelivered call's whole answer, as if nothing happened
        Assert.Null(quiet.Error);
        Assert.Equal(Words, quiet.WordCount);
        Assert.NotEqual("g1", quiet.Generation);
        // the clients that had part of an answer got a clean error, in their API's shape
        foreach (var read in streaming)
        {
            Assert.NotNull(read.Error);
            if (read.Api == "anthropic")
            {
                // event: error, data: {"type":"error","error":{"type":"api_error",...}}
                Assert.Equal("error", read.Error["type"]?.GetValue<string>());
                Assert.Equal("api_error", read.Error["error"]!["type"]!.GetValue<string>());
            }
            else
            {
                Assert.Equal("stream_interrupted", read.Error["error"]!["code"]?.GetValue<string>());
            }
        }

        Assert.True(upstream.Requests.Count > streaming.Count + 1, "nothing was redelivered: the killed worker held no stream");

        // the interrupted requests ran (and may be charged): a repeat under the same key calls no provider. It gets the
        // stream a worker kept for the request (the redelivered attempt's, when it ended before the Ingress stopped it:
        // one whole generation, never spliced), else 409 at once: the Ingress stopped the call, so it does not wait for
        // the call's deadline (the router timeout, 120 s) for an answer that cannot come
        var calls = upstream.Requests.Count;
        foreach (var read in streaming)
        {
            var repeat = new StreamRead(read.Api);
            var asked = Stopwatch.StartNew();
            await StreamAsync(setup.Broker.Http, repeat, keys[read]);
            Assert.True(asked.Elapsed < TimeSpan.FromSeconds(30), $"the repeat of an interrupted {read.Api} stream took {asked.Elapsed}");
            Assert.True(repeat.Status is HttpStatusCode.Conflict || (repeat.Error is null && repeat.WordCount == Words),
                $"repeat of an interrupted {read.Api} stream: {repeat.Status} {repeat.WordCount} words {repeat.Error?.ToJsonString()}");
            if (repeat.Status == HttpStatusCode.OK)
            {
                repeat.AssertOneGeneration();
                Assert.NotEqual(read.Generation, repeat.Generation);
            }
        }

        Assert.Equal(calls, upstream.Requests.Count);
    }

    private static async Task<(HttpStatusCode Status, string Text)> ChatAsync(HttpClient http, string prompt)
    {
        using var content = new StringContent(new JsonObject
        {
            ["model"] = "chat",
            ["messages"] = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = prompt }),
        }.ToJsonString(), Encoding.UTF8, "application/json");
        using var response = await http.PostAsync("v1/chat/completions", content);
        var text = await response.Content.ReadAsStringAsync();
        return response.StatusCode == HttpStatusCode.OK
            ? (response.StatusCode, JsonNode.Parse(text)!["choices"]![0]!["message"]!["content"]!.GetValue<string>())
            : (response.StatusCode, text);
    }

    /// <summary>Reads one streamed request to its end (OpenAI chat or Anthropic messages), recording the text as it comes.</summary>
    private static async Task StreamAsync(HttpClient http, StreamRead read, string? idempotencyKey = null)
    {
        var anthropic = read.Api == "anthropic";
        using var request = new HttpRequestMessage(HttpMethod.Post, anthropic ? "v1/messages" : "v1/chat/completions")
        {
            Content = new StringContent(anthropic
                ? """{"model":"chat","max_tokens":100,"stream":true,"messages":[{"role":"user","content":"hi"}]}"""
                : """{"model":"chat","stream":true,"messages":[{"role":"user","content":"hi"}]}""", Encoding.UTF8, "application/json"),
        };
        if (idempotencyKey is not null)
        {
            request.Headers.Add("Idempotency-Key", idempotencyKey);
        }

        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        if (response.StatusCode != HttpStatusCode.OK)
        {
            read.Fail(response.StatusCode, await response.Content.ReadAsStringAsync());
            return;
        }

        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        string? eventName = null;
        while (await reader.ReadLineAsync() is { } line)
        {
            read.Raw(line);
            if (line.StartsWith("event: ", StringComparison.Ordinal))
            {
                eventName = line["event: ".Length..];
                continue;
            }

            if (!line.StartsWith("data: ", StringComparison.Ordinal))
            {
                continue;
            }

            var data = line["data: ".Length..];
            if (data == "[DONE]")
            {
                read.Done();
                continue;
            }

            var json = JsonNode.Parse(data)!;
            if (json["error"] is not null && (!anthropic || eventName == "error"))
            {
                read.Errored(json);
            }
            else if (anthropic && json["delta"]?["text"] is JsonValue text)
            {
                read.Append(text.GetValue<string>());
            }
            else if (!anthropic && json["choices"]?[0]?["delta"]?["content"] is JsonValue content)
            {
                read.Append(content.GetValue<string>());
            }
            else if (anthropic && eventName == "message_stop")
            {
                read.Done();
            }
        }
    }

    private static async Task WaitUntilAsync(Func<bool> condition, TimeSpan timeout, Func<string> what)
    {
        var waited = System.Diagnostics.Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(waited.Elapsed < timeout, what());
            await Task.Delay(50);
        }
    }

    /// <summary>What one streamed client received.</summary>
    private sealed class StreamRead(string api)
    {
        private readonly Lock _gate = new();
        private readonly StringBuilder _text = new();
        private readonly StringBuilder _raw = new();
        private bool _done;
        private bool _afterError;

        public string Api { get; } = api;

        public JsonNode? Error { get; private set; }

        /// <summary>The HTTP status of a request answered with an error before any event.</summary>
        public HttpStatusCode Status { get; private set; } = HttpStatusCode.OK;

        public int WordCount
        {
            get
            {
                lock (_gate)
                {
                    return WordsOf().Length;
                }
            }
        }

        /// <summary>The generation ("g7") the words came from.</summary>
        public string? Generation
        {
            get
            {
                lock (_gate)
                {
                    return WordsOf().FirstOrDefault()?.Split('w')[0];
                }
            }
        }

        public void Append(string text)
        {
            lock (_gate)
            {
                Assert.False(_afterError, "text after the error event: " + _raw);
                _text.Append(text);
            }
        }

        public void Raw(string line)
        {
            lock (_gate)
            {
                _raw.AppendLine(line);
            }
        }

        public void Done()
        {
            lock (_gate)
            {
                _done = true;
            }
        }

        public void Errored(JsonNode error)
        {
            lock (_gate)
            {
                Error = error;
                _afterError = true;
            }
        }

        public void Fail(HttpStatusCode status, string body)
        {
            lock (_gate)
            {
                Status = status;
                Error = new JsonObject { ["error"] = new JsonObject { ["type"] = $"http {(int)status}" } };
                _raw.Append(body);
            }
        }

        /// <summary>The words are a prefix of one generation (all of it without an error), in order; an OpenAI stream ends with [DONE].</summary>
        public void AssertOneGeneration()
        {
            lock (_gate)
            {
                var words = WordsOf();
                var raw = _raw.ToString();
                Assert.True(words.Length > 0 || Error is not null, "nothing received:\n" + raw);
                var generation = words.FirstOrDefault()?.Split('w')[0];
                for (var i = 0; i < words.Length; i++)
                {
                    Assert.True(words[i] == $"{generation}w{i}", $"spliced stream ({Api}): word {i} is {words[i]}:\n{_text}");
                }

                if (Error is null)
                {
                    Assert.Equal(Words, words.Length);
                }

                Assert.True(_done || Api == "anthropic", $"no [DONE] at the end ({Api}):\n" + raw);
            }
        }

        private string[] WordsOf() => _text.ToString().Split(' ', StringSplitOptions.RemoveEmptyEntries);
    }

    /// <summary>A private virtual host, an Ingress in this process and a config file for the worker processes.</summary>
    private sealed class Setup : IAsyncDisposable
    {
        private readonly RabbitMqFixture _rabbit;
        private readonly string _virtualHost;
        private readonly string _configPath;
        private readonly string _redisPrefix;

        private Setup(RabbitMqFixture rabbit, Uri url, string virtualHost, string configPath, string redisPrefix, BrokerRunner broker)
        {
            _rabbit = rabbit;
            Url = url;
            _virtualHost = virtualHost;
            _configPath = configPath;
            _redisPrefix = redisPrefix;
            Broker = broker;
        }

        public Uri Url { get; }

        public BrokerRunner Broker { get; }

        public static async Task<Setup> StartAsync(RabbitMqFixture rabbit, FakeUpstream upstream)
        {
            var (url, vhost) = await rabbit.CreateVirtualHostAsync();
            var configPath = Path.Combine(Path.GetTempPath(), $"broker-kill-{Guid.NewGuid():N}.yaml");
            await File.WriteAllTextAsync(configPath, Yaml(upstream));
            var prefix = $"broker-test-{Guid.NewGuid():N}";
            try
            {
                var broker = await BrokerRunner.StartAsync(Yaml(upstream), null, url, [(BrokerRoles.Ingress, [])],
                    new Dictionary<string, string?> { ["Redis:KeyPrefix"] = prefix });
                broker.Http.Timeout = TimeSpan.FromSeconds(150);
                return new Setup(rabbit, url, vhost, configPath, prefix, broker);
            }
            catch
            {
                await rabbit.DeleteVirtualHostAsync(vhost);
                File.Delete(configPath);
                throw;
            }
        }

        /// <summary>A <c>broker --role workers</c> process on this test's virtual host and Redis keys.</summary>
        public BrokerProcess StartWorker() => BrokerProcess.Start(_configPath, Url, ["--role", "workers"],
            new Dictionary<string, string> { ["Redis__KeyPrefix"] = _redisPrefix, ["Redis__CommandTimeoutMs"] = "2000" });

        /// <summary>Waits until the group's queue has <paramref name="count"/> consumers (worker processes take a few seconds to start).</summary>
        public async Task WaitForConsumersAsync(uint count, params BrokerProcess[] workers)
        {
            var factory = new ConnectionFactory { Uri = Url };
            await using var connection = await factory.CreateConnectionAsync();
            var waited = System.Diagnostics.Stopwatch.StartNew();
            while (true)
            {
                await using var channel = await connection.CreateChannelAsync();
                try
                {
                    if ((await channel.QueueDeclarePassiveAsync(Queue)).ConsumerCount >= count)
                    {
                        return;
                    }
                }
                catch (RabbitMQ.Client.Exceptions.OperationInterruptedException)
                {
                    // not declared yet
                }

                Assert.True(workers.All(w => !w.HasExited), "a worker exited:\n" + string.Join("\n---\n", workers.Select(w => w.Log)));
                Assert.True(waited.Elapsed < TimeSpan.FromSeconds(90), "workers not consuming within 90 s:\n" + string.Join("\n---\n", workers.Select(w => w.Log)));
                await Task.Delay(250);
            }
        }

        public async ValueTask DisposeAsync()
        {
            await Broker.DisposeAsync();
            await _rabbit.DeleteVirtualHostAsync(_virtualHost);
            File.Delete(_configPath);
        }
    }
}
