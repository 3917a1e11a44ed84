using System.Security.Cryptography;
using System.Text;
using Broker.Config;
using Broker.Ingress.Errors;
using Microsoft.AspNetCore.Http;

namespace Broker.Ingress.Auth;

/// <summary>
/// Checks the caller's key against general_settings.master_key (or LITELLM_MASTER_KEY), sent as
/// <c>Authorization: Bearer</c>, <c>x-api-key</c> or <c>api-key</c>. Without a master key the gateway is open.
/// </summary>
public sealed class MasterKeyFilter(IProxyConfigProvider config) : IEndpointFilter
{
    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(next);
        var masterKey = config.Current.GeneralSettings.MasterKey?.Value;
        if (string.IsNullOrEmpty(masterKey))
        {
            return await next(context);
        }

        var presented = ReadKey(context.HttpContext.Request);
        if (presented is null)
        {
            return OpenAiErrorResult.Unauthorized("Authentication error: no API key passed in. Send it as 'Authorization: Bearer sk-...' or 'x-api-key'.");
        }

        if (!CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(presented), Encoding.UTF8.GetBytes(masterKey)))
        {
            return OpenAiErrorResult.Unauthorized($"Authentication error: invalid API key {Config.Model.Secret.Redact(presented)}.");
        }

        return await next(context);
    }

    public static string? ReadKey(HttpRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var authorization = request.Headers.Authorization.ToString();
        if (authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            var token = authorization["Bearer ".Length..].Trim();
            return token.Length == 0 ? null : token;
        }

        foreach (var header in new[] { "x-api-key", "api-key" })
        {
            var value = request.Headers[header].ToString().Trim();
            if (value.Length > 0)
            {
                return value;
            }
        }

        return null;
    }
}
