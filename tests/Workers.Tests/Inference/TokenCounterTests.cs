using System.Diagnostics;
using System.Text.Json.Nodes;
using Broker.ServiceDefaults.Tokens;
using Broker.Workers.Inference;
using Microsoft.ML.Tokenizers;

namespace Broker.Workers.Tests.Inference;

public sealed class TokenCounterTests
{
    // one token per character in o200k_base, and no whitespace: one pre-token, the tokenizer's quadratic case
    private static string Cjk(int length) => new('\u4e2d', length);

    [Fact]
    public async Task Count_250kCharactersWithoutWhitespace_ExactAndFast()
    {
        var text = Cjk(250_000);
        // the tokenizer's first load is not what is measured
        Assert.True(TokenCounter.Count(Cjk(2), CancellationToken.None) > 0);
        var tally = new TokenTally(CancellationToken.None);
        var watch = Stopwatch.StartNew();

        // a single tokenizer call over this text takes minutes; the bound only guards against a hang on a loaded machine
        await Task.Run(() => tally.Add(text)).WaitAsync(TimeSpan.FromSeconds(60));

        Assert.Equal(250_000, tally.Total);
        // well under a second on an idle machine; the point is "not minutes", so the bound is generous for a loaded one
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(20), $"took {watch.Elapsed}");
        // linear by construction: the tokenizer never sees more than PieceChars characters at once
        Assert.True(tally.Calls >= 250_000 / TokenTally.PieceChars, $"{tally.Calls} tokenizer calls");
    }

    [Fact]
    public void Count_ProseAndCode_MatchesOneTokenizerCallWithinOnePercent()
    {
        var random = new Random(7);
        string[] words = ["the", "gateway", "counts", "tokens", "(quickly)", "for", "every", "request;", "budgets", "hold.\n", "{\"id\":", "42}", "ünïcode", "中文", "naïve", "x=>x+1"];
        var text = string.Join(' ', Enumerable.Range(0, 40_000).Select(_ => words[random.Next(words.Length)]));
        var exact = TiktokenTokenizer.CreateForModel("gpt-4o").CountTokens(text);

        var counted = TokenCounter.Count(text, CancellationToken.None);

        Assert.InRange(counted, exact * 0.99, exact * 1.01);
    }

    [Fact]
    public void Count_BeyondTheCap_EstimatesFourCharactersAToken()
    {
        var counted = TokenCounter.Count(Cjk(TokenTally.MaxCountedChars + 400_000), CancellationToken.None);

        Assert.Equal(TokenTally.MaxCountedChars + 100_000, counted);
    }

    [Fact]
    public void CountMessages_CapSpansAllMessages_NotEachOne()
    {
        var messages = new JsonArray(Enumerable.Range(0, 6)
            .Select(_ => (JsonNode)new JsonObject { ["role"] = "user", ["content"] = Cjk(200_000) }).ToArray());

        var counted = TokenCounter.CountMessages(messages, CancellationToken.None);

        // about 500k characters counted one token each, the other ~700k estimated at 4 a token, plus small overheads;
        // a cap per string would have counted all 1.2M exactly
        Assert.InRange(counted, TokenTally.MaxCountedChars + 175_000, TokenTally.MaxCountedChars + 175_050);
    }

    [Fact]
    public async Task Count_CancelledWhileCounting_StopsWithOperationCanceled()
    {
        // a busy machine may let the count run to its end before the cancel lands: that try proves nothing and is
        // made again; a count that ignores its token runs to the end every time and fails
        for (var attempt = 0; attempt < 5; attempt++)
        {
            using var cts = new CancellationTokenSource();
            var tally = new TokenTally(cts.Token);
            var counting = Task.Factory.StartNew(() => tally.Add(Cjk(TokenTally.MaxCountedChars)), CancellationToken.None,
                TaskCreationOptions.LongRunning, TaskScheduler.Default);
            var watch = Stopwatch.StartNew();
            while (tally.Calls == 0 && watch.Elapsed < TimeSpan.FromSeconds(10))
            {
                Thread.SpinWait(20);
            }

            await cts.CancelAsync();
            try
            {
                await counting.WaitAsync(TimeSpan.FromSeconds(10));
            }
            catch (OperationCanceledException)
            {
                Assert.True(tally.Calls < TokenTally.MaxCountedChars / TokenTally.PieceChars, $"{tally.Calls} calls: it counted to the end");
                return;
            }
        }

        Assert.Fail("five counts cancelled while counting ran to their end");
    }

    [Fact]
    public void Count_AlreadyCancelled_Throws()
    {
        Assert.ThrowsAny<OperationCanceledException>(() => TokenCounter.Count("hello", new CancellationToken(canceled: true)));
    }
}
