using Broker.Config;
using Broker.Ingress.Auth;
using Broker.Ingress.Errors;
using Broker.Ingress.Http;
using Microsoft.AspNetCore.Http;

namespace Broker.Ingress.Keys;

/// <summary>Who may use the key, user and team management routes: the proxy admin (master key or admin JWT), with a database.</summary>
public static class ManagementGate
{
    /// <summary>Null when the database is there; else the error every management route answers.</summary>
    public static OpenAiErrorResult? Database(IIdentityStore repository, IProxyConfigProvider config)
    {
        ArgumentNullException.ThrowIfNull(repository);
        ArgumentNullException.ThrowIfNull(config);
        if (!repository.IsConfigured)
        {
            return new OpenAiErrorResult(StatusCodes.Status400BadRequest,
                "No connected db. Key, user and team management needs general_settings.database_url (or DATABASE_URL).",
                "invalid_request_error", null, "no_database");
        }

        if (config.Current.GeneralSettings.MasterKey is null)
        {
            return new OpenAiErrorResult(StatusCodes.Status400BadRequest,
                "Master key is not set. Set general_settings.master_key (or LITELLM_MASTER_KEY) to manage keys, users and teams.",
                "invalid_request_error", null, "no_master_key");
        }

        return null;
    }

    /// <summary>Null for the proxy admin; else a 401 in LiteLLM's words.</summary>
    public static OpenAiErrorResult? Admin(HttpContext http)
    {
        ArgumentNullException.ThrowIfNull(http);
        return AuthContext.Of(http) is { IsAdmin: true }
            ? null
            : new OpenAiErrorResult(StatusCodes.Status401Unauthorized,
                $"Authentication Error - only the proxy admin can call {http.Request.Path}. Use the master key.", "auth_error", null, "401");
    }

    /// <summary>
    /// The first steps of a management route that takes a JSON body: the database check, the admin check (unless
    /// <paramref name="adminOnly"/> is false: the route decides who may call it), then the body. Refused is null when all passed.
    /// </summary>
    public static async Task<(System.Text.Json.Nodes.JsonObject? Body, IResult? Refused)> ReadBodyAsync(
        HttpContext http, IProxyConfigProvider config, IIdentityStore repository, bool adminOnly = true)
    {
        if ((Database(repository, config) ?? (adminOnly ? Admin(http) : null)) is { } refused)
        {
            return (null, refused);
        }

        var (body, _, error) = await JsonBodyReader.ReadAsync(http, config);
        return (body, error);
    }

    private static readonly Dictionary<string, string> NoHeaders = [];

    public static IResult Json(System.Text.Json.Nodes.JsonNode node)
    {
        ArgumentNullException.ThrowIfNull(node);
        return new Http.JsonTextResult(node.ToJsonString(), NoHeaders);
    }

    /// <summary>The 1-based page of a list route; an error when it is not a number from 1 or lies past any possible row.</summary>
    public static OpenAiErrorResult? Page(string? text, int size, out int page)
    {
        page = 1;
        if (string.IsNullOrEmpty(text))
        {
            return null;
        }

        if (!int.TryParse(text, System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out page) ||
            page < 1 || (long)(page - 1) * size > MaxOffset)
        {
            page = 1;
            return new OpenAiErrorResult(StatusCodes.Status400BadRequest,
                $"page must be a whole number from 1 to {(MaxOffset / size) + 1} (got '{text}')", "invalid_request_error", "page", "400");
        }

        return null;
    }

    /// <summary>The furthest row a list route pages to.</summary>
    private const long MaxOffset = 10_000_000;

    public static OpenAiErrorResult BadRequest(string message) =>
        new(StatusCodes.Status400BadRequest, message, "invalid_request_error", null, "400");

    public static OpenAiErrorResult NotFound(string message) =>
        new(StatusCodes.Status404NotFound, message, "not_found_error", null, "404");
}
