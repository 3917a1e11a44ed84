using System.Text.Json;
using System.Text.Json.Nodes;
using Broker.Config.Model;
using Broker.Ingress.Errors;
using Broker.Ingress.Keys;

namespace Broker.Ingress.Auth;

/// <summary>
/// The models a caller may reach: the <c>models</c> of its key, user and team together (each empty = every model).
/// <see cref="Unrestricted"/> for the proxy admin and an open gateway.
/// </summary>
public sealed record ModelScope(KeyRecord? Key, UserRecord? User, TeamRecord? Team)
{
    public static readonly ModelScope Unrestricted = new(null, null, null);

    /// <summary>True when any of key, user or team limits the models.</summary>
    public bool IsRestricted => Key is { Models.Count: > 0 } || User is { Models.Count: > 0 } || Team is { Models.Count: > 0 };

    /// <summary>Null when <paramref name="model"/> is allowed to the key, the team and the user; else LiteLLM's 401.</summary>
    public OpenAiErrorResult? Refusal(ProxyConfig config, string model)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(model);
        if (Key is not null && !ModelAccess.IsAllowed(config, Key.Models, model))
        {
            return AuthErrors.ModelDenied("Key", Key.Models, model);
        }

        if (Team is not null && !ModelAccess.IsAllowed(config, Team.Models, model))
        {
            return AuthErrors.ModelDenied($"Team={Team.TeamId}", Team.Models, model);
        }

        if (User is not null && !ModelAccess.IsAllowed(config, User.Models, model))
        {
            return AuthErrors.ModelDenied($"User={User.UserId}", User.Models, model);
        }

        return null;
    }

    public bool Allows(ProxyConfig config, string model) => Refusal(config, model) is null;

    /// <summary>The key's own alias for <paramref name="model"/> (the key's <c>aliases</c>), or null.</summary>
    public string? Alias(string model)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (Key is null || Key.Aliases is "{}" or "")
        {
            return null;
        }

        try
        {
            return JsonNode.Parse(Key.Aliases)?[model] is JsonValue v && v.GetValueKind() == JsonValueKind.String ? v.GetValue<string>() : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
