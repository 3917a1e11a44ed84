using Broker.Ingress.Auth;
using Broker.Ingress.Errors;
using Microsoft.AspNetCore.Http;

namespace Broker.Ingress.Features.Messages;

/// <summary>
/// The key check of the Messages routes: <see cref="AuthFilter"/>'s decision, answered in
/// Anthropic's error shape (a 401 becomes <c>authentication_error</c>), so Anthropic clients can read it.
/// </summary>
public sealed class AnthropicKeyFilter(AuthFilter inner) : IEndpointFilter
{
    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var result = await inner.InvokeAsync(context, next);
        return result is OpenAiErrorResult error ? AnthropicErrorResult.From(error) : result;
    }
}
