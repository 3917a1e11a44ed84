using Broker.Ingress.Errors;
using Microsoft.AspNetCore.Http;

namespace Broker.Ingress.Auth;

/// <summary>
/// A request let through (or refused) by its budgets and rpm/tpm/parallel limits (<see cref="Budgets.AdmitAsync"/>):
/// it holds its estimated cost and tokens until <see cref="SettleAsync"/> replaces them with what the answer used.
/// Disposing it without settling (the request failed or was cancelled) gives them back; its parallel slots are freed.
/// </summary>
public sealed class Admission : IAsyncDisposable
{
    private readonly BudgetReservations? _reservations;
    private readonly RateLimiter? _limiter;
    private readonly BudgetReservation _reservation;
    private readonly IReadOnlyList<LimitScope> _limits;
    private readonly RateLimitDecision? _decision;
    private readonly RequestEstimate _estimate;
    private int _settled;

    internal Admission(
        BudgetReservations? reservations, RateLimiter? limiter, BudgetReservation reservation, IReadOnlyList<LimitScope> limits,
        RateLimitDecision? decision, RequestEstimate estimate, OpenAiErrorResult? refusal = null)
    {
        _reservations = reservations;
        _limiter = limiter;
        _reservation = reservation;
        _limits = limits;
        _decision = decision;
        _estimate = estimate;
        Refusal = refusal;
    }

    /// <summary>A request nothing holds back (no budget, no limits).</summary>
    public static Admission Open { get; } = new(null, null, BudgetReservation.None, [], null, RequestEstimate.None);

    /// <summary>Why the request may not run (nothing is held then), else null.</summary>
    public OpenAiErrorResult? Refusal { get; }

    internal static Admission Refused(OpenAiErrorResult refusal) =>
        new(null, null, BudgetReservation.None, [], null, RequestEstimate.None, refusal);

    /// <summary>The request has its answer (or error): what it cost and used replaces the estimate, before the client sees it.</summary>
    public async Task SettleAsync(HttpContext http, object? result)
    {
        ArgumentNullException.ThrowIfNull(http);
        if (Interlocked.Exchange(ref _settled, 1) == 1)
        {
            return;
        }

        if (_reservations is not null && _reservation.Held.Count > 0)
        {
            await _reservations.SettleAsync(_reservation, _estimate.ActualCost(http, result));
        }

        if (_limiter is not null && _decision is not null)
        {
            await _limiter.SettleTokensAsync(_limits, _decision, AnswerTokens.Of(http, (result as Http.JsonTextResult)?.Json) ?? 0);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _settled, 1) == 0)
        {
            if (_reservations is not null && _reservation.Held.Count > 0)
            {
                await _reservations.SettleAsync(_reservation, 0m);
            }

            if (_limiter is not null && _decision is not null)
            {
                await _limiter.SettleTokensAsync(_limits, _decision, 0);
            }
        }

        if (_limiter is not null && _decision is not null)
        {
            await _limiter.ReleaseAsync(_decision.Held);
        }
    }
}
