using Microsoft.AspNetCore.Builder;

namespace Broker.Ingress.Http;

/// <summary>Declarations of a route's body, made where the route is mapped (see <see cref="BodyFormat"/>).</summary>
public static class BodyFormatExtensions
{
    /// <summary>The route reads its body itself (a multipart upload): nothing reads it as JSON before the endpoint.</summary>
    public static TBuilder ReadsOwnBody<TBuilder>(this TBuilder builder) where TBuilder : IEndpointConventionBuilder =>
        builder.WithMetadata(new BodyFormat(false, null));

    /// <summary>A JSON body of up to <paramref name="maxBytes"/> (instead of general_settings.max_request_size_mb).</summary>
    public static TBuilder JsonBodyUpTo<TBuilder>(this TBuilder builder, long maxBytes) where TBuilder : IEndpointConventionBuilder =>
        builder.WithMetadata(new BodyFormat(true, maxBytes));
}
