using Broker.Ingress.Errors;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Broker.Ingress.Idempotency;

/// <summary>The route declaration <c>.Idempotent()</c>, made where an inference route is mapped (after its access declaration).</summary>
public static class IdempotencyEndpointExtensions
{
    /// <summary>Requests with an <c>Idempotency-Key</c> run once per key (<see cref="IdempotencyFilter"/>); errors in OpenAI's shape.</summary>
    public static TBuilder Idempotent<TBuilder>(this TBuilder builder) where TBuilder : IEndpointConventionBuilder =>
        builder.Idempotent(static error => error);

    /// <summary>As <see cref="Idempotent{TBuilder}(TBuilder)"/>, with the route's own error shape (Anthropic's on /v1/messages).</summary>
    public static TBuilder Idempotent<TBuilder>(this TBuilder builder, Func<OpenAiErrorResult, IResult> errorShape)
        where TBuilder : IEndpointConventionBuilder
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(errorShape);
        builder.WithMetadata(new IdempotentRoute(errorShape));
        builder.AddEndpointFilter<TBuilder, IdempotencyFilter>();
        return builder;
    }
}
