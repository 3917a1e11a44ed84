using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text;
using System.Text.Json.Nodes;

namespace Broker.Host.Tests.Security;

/// <summary>
/// Every inference route gets a corpus of malformed bodies (wrong types per field, invalid UTF-8, lone surrogates, NUL,
/// duplicate keys, deep nesting, huge numbers, empty bodies, arrays instead of objects): each answer is a 4xx in the
/// route's API shape (or a success, where a mutation happens to be valid), never a 5xx or a hang, and the broker stays live.
/// </summary>
[Trait("Category", "Integration")]
public sealed class MalformedInputFuzzTests(MalformedInputFixture fixture) : IClassFixture<MalformedInputFixture>
{
    private static readonly JsonObject ChatMessage = new() { ["role"] = "user", ["content"] = "hi" };

    /// <summary>Each route with a valid body and the fields to mutate.</summary>
    private static readonly (string Path, JsonObject Body, string[] Fields)[] Routes =
    [
        ("v1/chat/completions", new JsonObject { ["model"] = "mocked", ["messages"] = new JsonArray(ChatMessage.DeepClone()) },
            ["model", "messages", "temperature", "top_p", "n", "max_tokens", "stream", "stream_options", "stop", "tools", "tool_choice", "response_format", "metadata", "user", "seed", "logit_bias", "fallbacks"]),
        ("v1/completions", new JsonObject { ["model"] = "mocked", ["prompt"] = "hi" },
            ["model", "prompt", "temperature", "n", "max_tokens", "stream", "stream_options", "stop", "user", "metadata", "echo", "best_of", "logprobs", "suffix"]),
        ("v1/embeddings", new JsonObject { ["model"] = "mocked", ["input"] = "hi" },
            ["model", "input", "encoding_format", "dimensions", "user", "metadata"]),
        ("v1/responses", new JsonObject { ["model"] = "mocked", ["input"] = "hi" },
            ["model", "input", "instructions", "temperature", "top_p", "max_output_tokens", "stream", "tools", "tool_choice", "text", "reasoning", "metadata", "user", "previous_response_id"]),
        ("v1/messages", new JsonObject { ["model"] = "mocked", ["max_tokens"] = 10, ["messages"] = new JsonArray(ChatMessage.DeepClone()) },
            ["model", "max_tokens", "messages", "system", "temperature", "top_k", "stream", "stop_sequences", "tools", "tool_choice", "metadata", "thinking"]),
        ("v1/messages/count_tokens", new JsonObject { ["model"] = "mocked", ["messages"] = new JsonArray(ChatMessage.DeepClone()) },
            ["model", "messages", "system", "tools", "metadata"]),
        ("v1/batches", new JsonObject { ["input_file_id"] = "file-missing", ["endpoint"] = "/v1/chat/completions", ["completion_window"] = "24h" },
            ["input_file_id", "endpoint", "completion_window", "metadata"]),
        ("v1/files", new JsonObject { ["purpose"] = "batch" }, ["purpose", "file"]),
        ("v1/messages/batches", new JsonObject
            {
                ["requests"] = new JsonArray(new JsonObject
                {
                    ["custom_id"] = "a",
                    ["params"] = new JsonObject { ["model"] = "mocked", ["max_tokens"] = 10, ["messages"] = new JsonArray(ChatMessage.DeepClone()) },
                }),
            },
            ["requests"]),
    ];

    /// <summary>Values of every JSON kind, and the awkward ones, put in place of each field.</summary>
    private static readonly string[] Values =
    [
        "\"x\"", "-1", "0", "1.5", "1e400", "-1e400", "true", "null", "[]", "{}", "[[1]]", "[\"x\", 1, null]", "{\"a\":{\"b\":[]}}",
        "\"\\ud800\"", "\"a\\u0000b\"", "99999999999999999999999999", "[{\"role\":\"user\",\"content\":\"\\udc00\"}]",
        "[{\"role\":\"user\",\"content\":[1, \"x\", null]}]", "[{\"type\":\"x\"}]", "\"json\"",
    ];

    private static IEnumerable<byte[]> WholeBodies(JsonObject valid)
    {
        var text = valid.ToJsonString();
        yield return [];
        yield return "   "u8.ToArray();
        yield return "[]"u8.ToArray();
        yield return Encoding.UTF8.GetBytes($"[{text}]");
        yield return "null"u8.ToArray();
        yield return "1e400"u8.ToArray();
        yield return "\"text\""u8.ToArray();
        yield return Encoding.UTF8.GetBytes(text[..(text.Length / 2)]);
        yield return Encoding.UTF8.GetBytes(text + "{}");
        yield return [.. Encoding.UTF8.GetBytes(text[..^1] + ",\"user\":\""), 0xff, 0xfe, 0xc3, .. "\"}"u8.ToArray()];
        yield return [.. Encoding.UTF8.GetBytes(text[..^1] + ",\"user\":\"a"), 0xed, 0xa0, 0x80, .. "\"}"u8.ToArray()];
        yield return Encoding.UTF8.GetBytes(text[..^1] + ",\"model\":\"mocked\"}");
        yield return Encoding.UTF8.GetBytes("{\"model\":\"mocked\",\"model\":\"other\"," + text[1..]);
        yield return Encoding.UTF8.GetBytes(text[..^1] + ",\"extra\":" + new string('[', 10_000) + new string(']', 10_000) + "}");
        yield return Encoding.UTF8.GetBytes(text[..^1] + ",\"extra\":" + string.Concat(Enumerable.Repeat("{\"a\":", 10_000)) + "1" + new string('}', 10_000) + "}");
        yield return Encoding.UTF8.GetBytes(text[..^1] + ",\"\\ud800\":1}");
        yield return Encoding.UTF8.GetBytes(text[..^1] + ",\"a\\u0000\":\"\\u0000\"}");
        yield return [0xef, 0xbb, 0xbf, .. Encoding.UTF8.GetBytes(text)];
        yield return [0x00, 0x01, 0x02];
    }

    private static IEnumerable<(string Why, byte[] Body)> Corpus(JsonObject valid, string[] fields)
    {
        foreach (var body in WholeBodies(valid))
        {
            yield return ($"whole body {Encoding.UTF8.GetString(body[..Math.Min(body.Length, 40)])}", body);
        }

        foreach (var field in fields)
        {
            foreach (var value in Values)
            {
                var mutated = (JsonObject)valid.DeepClone();
                mutated.Remove(field);
                var text = mutated.Count == 0 ? $"{{\"{field}\":{value}}}" : mutated.ToJsonString()[..^1] + $",\"{field}\":{value}}}";
                yield return ($"{field}={value}", Encoding.UTF8.GetBytes(text));
            }

            var without = (JsonObject)valid.DeepClone();
            if (without.Remove(field))
            {
                yield return ($"without {field}", Encoding.UTF8.GetBytes(without.ToJsonString()));
            }
        }
    }

    [Fact]
    public async Task Post_MalformedBodiesOnEveryInferenceRoute_4xxInTheApisShapeNeverServerErrorOrHang()
    {
        var cases = Routes.SelectMany(r => Corpus(r.Body, r.Fields).Select(c => (r.Path, c.Why, c.Body))).ToList();
        var failures = new ConcurrentBag<string>();
        var watch = Stopwatch.StartNew();

        await Parallel.ForEachAsync(cases, new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (c, _) =>
        {
            try
            {
                var (status, text) = await fixture.SendAsync(HttpMethod.Post, c.Path, c.Body, timeout: TimeSpan.FromSeconds(15));
                if (status is >= 200 and < 300)
                {
                    return; // the mutation happened to be a valid request
                }

                ErrorShape.Assert4xx(c.Path, status, text, c.Why);
            }
            catch (Exception ex) when (ex is Xunit.Sdk.XunitException or TimeoutException or System.Text.Json.JsonException)
            {
                failures.Add($"{c.Path} [{c.Why}]: {ex.Message}");
            }
        });

        Assert.True(failures.IsEmpty, $"{failures.Count} of {cases.Count} cases failed:\n" + string.Join("\n", failures.Take(40)));
        Assert.True(cases.Count > 500, $"only {cases.Count} cases");
        var (live, _) = await fixture.SendAsync(HttpMethod.Get, "health/liveliness", null);
        Assert.Equal(200, live);
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(60), $"the corpus took {watch.Elapsed}");
    }

    [Fact]
    public async Task Post_MalformedMultipartToFiles_4xxInOpenAiShape()
    {
        string[] bodies =
        [
            "--b\r\nContent-Disposition: form-data; name=\"purpose\"\r\n\r\nbatch\r\n--b--\r\n",
            "--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a\u0000b.jsonl\"\r\n\r\n{}\r\n--b\r\nContent-Disposition: form-data; name=\"purpose\"\r\n\r\nbatch\r\n--b--\r\n",
            "--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"x.jsonl\"\r\n\r\n{}\r\n--b\r\nContent-Disposition: form-data; name=\"purpose\"\r\n\r\nnot-a-purpose\r\n--b--\r\n",
            "--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"x.jsonl\"\r\n\r\n{}",
            "garbage without boundaries",
            "",
        ];
        foreach (var body in bodies)
        {
            var (status, text) = await fixture.SendAsync(HttpMethod.Post, "v1/files", Encoding.UTF8.GetBytes(body), contentType: "multipart/form-data; boundary=b");
            ErrorShape.Assert4xx("v1/files", status, text, body);
        }

        var (noBoundary, noBoundaryText) = await fixture.SendAsync(HttpMethod.Post, "v1/files", "x"u8.ToArray(), contentType: "multipart/form-data");
        ErrorShape.Assert4xx("v1/files", noBoundary, noBoundaryText, "no boundary");
    }
}
