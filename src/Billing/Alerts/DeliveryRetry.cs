using Microsoft.Extensions.Logging;
using Polly;
using Polly.Retry;

namespace Broker.Billing.Alerts;

/// <summary>
/// The one retry layer for outside receivers (alert channels and callbacks): exponential backoff with jitter, on any
/// failure but the caller's own cancellation. Host settings <c>Alerts:RetryAttempts</c> (default 5) and
/// <c>Alerts:RetryDelayMs</c> (first delay, default 1000).
/// </summary>
public sealed class DeliveryRetry
{
    private readonly ResiliencePipeline _pipeline;

    public DeliveryRetry(int attempts, TimeSpan firstDelay, TimeProvider timeProvider, ILogger<DeliveryRetry> logger)
    {
        _pipeline = new ResiliencePipelineBuilder { TimeProvider = timeProvider }
            .AddRetry(new RetryStrategyOptions
            {
                MaxRetryAttempts = Math.Max(0, attempts),
                Delay = firstDelay,
                MaxDelay = TimeSpan.FromSeconds(60),
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                ShouldHandle = args => ValueTask.FromResult(
                    args.Outcome.Exception is { } ex && !(ex is OperationCanceledException && args.Context.CancellationToken.IsCancellationRequested)),
                OnRetry = args =>
                {
                    var what = args.Context.Properties.TryGetValue(WhatKey, out var w) ? w : "delivery";
                    Log.AlertRetry(logger, what, args.Context.OperationKey ?? "", args.AttemptNumber + 1,
                        args.Outcome.Exception?.Message ?? "", args.RetryDelay.TotalMilliseconds);
                    return default;
                },
            })
            .Build();
    }

    private static readonly ResiliencePropertyKey<string> WhatKey = new("broker.what");

    /// <summary>Runs <paramref name="send"/> until it succeeds or the attempts are spent (then its last exception is thrown).</summary>
    public async Task ExecuteAsync(string what, string receiver, Func<CancellationToken, Task> send, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(send);
        var context = ResilienceContextPool.Shared.Get(receiver, cancellationToken);
        context.Properties.Set(WhatKey, what);
        try
        {
            await _pipeline.ExecuteAsync(async ctx => await send(ctx.CancellationToken), context);
        }
        finally
        {
            ResilienceContextPool.Shared.Return(context);
        }
    }
}
