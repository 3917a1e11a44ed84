using System.Net.Http.Headers;
using System.Text;
using Broker.Host.Composition;
using Broker.Host.Tests.Infrastructure;
using Broker.TestKit;
using Microsoft.Playwright;

namespace Broker.Host.Tests.Ui;

/// <summary>The Queues view over the real local RabbitMQ (its own virtual host): the depth it shows follows the load.</summary>
[Trait("Category", "Integration")]
public sealed class QueuesUiBrowserTests(RabbitMqFixture rabbit) : IClassFixture<RabbitMqFixture>
{
    private const string MasterKey = "sk-ui-queues-master-0001";

    [Fact]
    public async Task Queues_UnderLoad_DepthRisesThenDrains()
    {
        // Chromium starts while the Broker does: each takes seconds on a loaded machine
        var launching = UiBrowser.LaunchAsync();
        UiBrowser? browser = null;
        string? vhost = null;
        try
        {
            (var url, vhost) = await rabbit.CreateVirtualHostAsync();
            await using var upstream = await FakeUpstream.StartOpenAiAsync();
            var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            upstream.HoldAnswer = (_, aborted) => release.Task.WaitAsync(aborted);
            await using var broker = await BrokerRunner.StartAsync($$"""
                model_list:
                  - model_name: held
                    litellm_params: { model: openai/gpt-4o, api_base: "{{upstream.BaseUrl}}/v1", api_key: k }
                general_settings:
                  master_key: {{MasterKey}}
                router_settings:
                  timeout: 120
                """, null, url, [(BrokerRoles.Workers, []), (BrokerRoles.Ingress, [])], concurrency: 1);
            browser = await launching;
            var page = await browser.NewPageAsync();
            await UiBrowser.SignInAsync(page, broker.BaseUrl, MasterKey);
            await page.GetByRole(AriaRole.Link, new() { Name = "Queues" }).ClickAsync();
            var waiting = page.GetByTestId("depth-held");
            // the row is there at once; its figures come with RabbitMQ's next statistics (every 5 s): the load need not wait
            await waiting.WaitForAsync();

            // one request at the worker (concurrency 1, prefetch 1), five waiting in the queue
            using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(120));
            var calls = Enumerable.Range(0, 6).Select(_ => ChatAsync(broker.Http, cancel.Token)).ToList();
            await WaitForDepthAsync(waiting, d => d >= 3, "requests waiting in the queue");
            await UiBrowser.ScreenshotAsync(page, "queues-1280");

            release.SetResult();
            await Task.WhenAll(calls).WaitAsync(TimeSpan.FromSeconds(90));
            await WaitForDepthAsync(waiting, d => d == 0, "the queue drained");
            await page.Context.CloseAsync();
            Assert.Empty(browser.OutsideRequests);
            Assert.Empty(browser.PageErrors);
        }
        finally
        {
            browser ??= await launching.ContinueWith(t => t.IsCompletedSuccessfully ? t.Result : null, TaskScheduler.Default);
            if (browser is not null)
            {
                await browser.DisposeAsync();
            }

            if (vhost is not null)
            {
                await rabbit.DeleteVirtualHostAsync(vhost);
            }
        }
    }

    /// <summary>Waits for the view's own refresh (every 2 s; RabbitMQ's statistics lag a few seconds) to show a depth.</summary>
    private static async Task WaitForDepthAsync(ILocator cell, Func<long, bool> wanted, string what)
    {
        var deadline = DateTimeOffset.UtcNow.AddSeconds(60);
        var last = "";
        while (DateTimeOffset.UtcNow < deadline)
        {
            if (await cell.CountAsync() == 1)
            {
                last = (await cell.InnerTextAsync()).Trim();
                if (long.TryParse(last, out var depth) && wanted(depth))
                {
                    return;
                }
            }

            await Task.Delay(250);
        }

        Assert.Fail($"the Queues view never showed {what}: last depth '{last}'");
    }

    private static async Task ChatAsync(HttpClient http, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "v1/chat/completions")
        {
            Content = new StringContent("""{"model":"held","messages":[{"role":"user","content":"hi"}]}""", Encoding.UTF8, "application/json"),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", MasterKey);
        using var response = await http.SendAsync(request, cancellationToken);
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync(cancellationToken));
    }
}
