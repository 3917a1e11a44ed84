using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Broker.Host.Tests.Infrastructure;
using Broker.TestKit;
using Xunit.Abstractions;

namespace Broker.Host.Tests.Batches;

/// <summary>Live requests keep their latency while a large batch runs on the same model group.</summary>
[Collection(TimingCollection.Name)]
[Trait("Category", "Integration")]
public sealed class BatchLatencyTests(ITestOutputHelper output)
{
    private const string MasterKey = "sk-batch-master";

    [Fact]
    public async Task LiveRequests_WhileLargeBatchRuns_MedianLatencyUnderThreeTimesIdle()
    {
        await using var db = await TestDatabase.CreateAsync();
        await using var upstream = await FakeUpstream.StartOpenAiAsync();
        upstream.Delay = TimeSpan.FromMilliseconds(50);
        await using var broker = await BrokerRunner.StartEmbeddedAsync($$"""
            model_list:
              - model_name: good
                litellm_params: { model: openai/gpt-4o, api_base: "{{upstream.BaseUrl}}/v1", api_key: k, max_parallel_requests: 16 }
            router_settings:
              timeout: 60
            general_settings:
              master_key: {{MasterKey}}
              database_url: "{{db.Url}}"
            """, settings: new Dictionary<string, string?> { ["Ingress:BatchPollSeconds"] = "0.2" });
        var client = new BatchTestClient(broker, MasterKey);
        await MeasureAsync(broker, 5);
        var idle = await MeasureAsync(broker, 30);

        var fileId = await client.UploadAsync(string.Join("\n", Enumerable.Range(1, 3000).Select(i => BatchTestClient.ChatLine($"l{i}", "good"))));
        var id = (await client.CreateAsync(fileId))["id"]!.GetValue<string>();
        var watch = Stopwatch.StartNew();
        while (upstream.Requests.Count < 5 + 30 + 200)
        {
            Assert.True(watch.Elapsed < TimeSpan.FromSeconds(60), "the batch did not start");
            await Task.Delay(20);
        }

        var busy = await MeasureAsync(broker, 30);
        var during = await client.GetAsync(id);

        output.WriteLine($"live p50: idle {idle.TotalMilliseconds:0} ms, with the batch {busy.TotalMilliseconds:0} ms; provider max in flight {upstream.MaxInFlight}");
        // the measurement happened while the batch was still running and the provider was kept busy by it
        Assert.Equal("in_progress", during["status"]!.GetValue<string>());
        Assert.True(upstream.MaxInFlight >= 8, $"batch kept only {upstream.MaxInFlight} requests in flight");
        Assert.True(busy < idle * 3, $"live p50 {busy.TotalMilliseconds:0} ms with the batch vs {idle.TotalMilliseconds:0} ms without");
        await client.CancelAsync(id);
        await client.WaitAsync(id, TimeSpan.FromSeconds(60));
    }

    private static async Task<TimeSpan> MeasureAsync(BrokerRunner broker, int count)
    {
        var samples = new List<TimeSpan>();
        for (var i = 0; i < count; i++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions")
            {
                Content = new StringContent("""{"model":"good","messages":[{"role":"user","content":"live"}]}""", Encoding.UTF8, "application/json"),
            };
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", MasterKey);
            var watch = Stopwatch.StartNew();
            using var response = await broker.Http.SendAsync(request);
            samples.Add(watch.Elapsed);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        samples.Sort();
        return samples[samples.Count / 2];
    }
}
