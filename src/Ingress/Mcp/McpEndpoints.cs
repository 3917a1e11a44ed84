using System.Text.Json;
using System.Text.Json.Nodes;
using Broker.Config;
using Broker.Ingress.Auth;
using Broker.Ingress.Errors;
using Broker.Ingress.Http;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using ModelContextProtocol;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;

namespace Broker.Ingress.Mcp;

/// <summary>
/// The MCP gateway's routes: <c>/mcp</c> (Streamable HTTP, JSON-RPC, served by the ModelContextProtocol SDK, stateless:
/// tools, prompts, resources and resource templates)
/// and LiteLLM's REST pair <c>GET /mcp-rest/tools/list</c>, <c>POST /mcp-rest/tools/call</c>. All need a Broker key.
/// </summary>
public static class McpEndpoints
{
    private static readonly Dictionary<string, string> NoHeaders = [];

    public static RouteGroupBuilder MapMcpGateway(this RouteGroupBuilder group)
    {
        ArgumentNullException.ThrowIfNull(group);
        // the SDK reads the JSON-RPC body itself: the key check must not consume it
        group.MapMcp("/mcp").AllowAnyKey().ReadsOwnBody();
        group.MapGet("/mcp-rest/tools/list", ListAsync).AllowAnyKey();
        group.MapPost("/mcp-rest/tools/call", CallAsync).AllowAnyKey();
        return group;
    }

    /// <summary>
    /// Per request (the server is stateless): the tool handlers of this caller. The key check ran before, so the
    /// caller's <see cref="AuthContext"/> is on the request; without one nothing is allowed.
    /// </summary>
    internal static Task ConfigureSession(HttpContext http, McpServerOptions options, CancellationToken cancellationToken)
    {
        var gateway = http.RequestServices.GetRequiredService<McpGateway>();
        var access = McpAccess.Of(AuthContext.Of(http));
        options.Handlers.ListToolsHandler = async (context, ct) =>
            new ListToolsResult { Tools = [.. (await gateway.ListToolsAsync(access, null, ct)).Select(t => t.Tool)] };
        options.Handlers.CallToolHandler = async (context, ct) =>
        {
            var request = context.Params ?? throw new McpProtocolException("params: required", McpErrorCode.InvalidParams);
            var arguments = request.Arguments?.ToDictionary(a => a.Key, a => a.Value, StringComparer.Ordinal);
            return Unwrap(await gateway.CallToolAsync(access, request.Name, null, arguments, ct));
        };
        options.Handlers.ListPromptsHandler = async (context, ct) => new ListPromptsResult { Prompts = [.. await gateway.ListPromptsAsync(access, ct)] };
        options.Handlers.GetPromptHandler = async (context, ct) =>
        {
            var request = context.Params ?? throw new McpProtocolException("params: required", McpErrorCode.InvalidParams);
            var arguments = request.Arguments?.ToDictionary(a => a.Key, a => a.Value, StringComparer.Ordinal);
            return Unwrap(await gateway.GetPromptAsync(access, request.Name, arguments, ct));
        };
        options.Handlers.ListResourcesHandler = async (context, ct) => new ListResourcesResult { Resources = [.. await gateway.ListResourcesAsync(access, ct)] };
        options.Handlers.ListResourceTemplatesHandler = async (context, ct) =>
            new ListResourceTemplatesResult { ResourceTemplates = [.. await gateway.ListResourceTemplatesAsync(access, ct)] };
        options.Handlers.ReadResourceHandler = async (context, ct) =>
        {
            var request = context.Params ?? throw new McpProtocolException("params: required", McpErrorCode.InvalidParams);
            var outcome = await gateway.ReadResourceAsync(access, request.Uri, ct);
            return outcome.Status == StatusCodes.Status404NotFound
                ? throw new McpProtocolException(outcome.Error!, McpErrorCode.ResourceNotFound)
                : Unwrap(outcome);
        };
        return Task.CompletedTask;
    }

    /// <summary>The result, or the failure as a JSON-RPC error (unknown name: invalid params; refused: invalid request).</summary>
    private static T Unwrap<T>(McpOutcome<T> outcome)
        where T : Result =>
        outcome.Result ?? throw new McpProtocolException(outcome.Error!, outcome.Status switch
        {
            StatusCodes.Status404NotFound => McpErrorCode.InvalidParams,
            StatusCodes.Status403Forbidden => McpErrorCode.InvalidRequest,
            _ => McpErrorCode.InternalError,
        });

    /// <summary>Refuses every call: the handlers used when no caller was configured (fail closed).</summary>
    internal static ValueTask<TResult> Refuse<TParams, TResult>(RequestContext<TParams> context, CancellationToken cancellationToken) =>
        throw new McpProtocolException("no caller for this request", McpErrorCode.InvalidRequest);

    private static async Task<IResult> ListAsync(HttpContext http, McpGateway gateway, IProxyConfigProvider config)
    {
        var server = http.Request.Query["server_id"].ToString();
        if (server.Length > 0 && config.Current.Mcp.Find(server) is null)
        {
            return new OpenAiErrorResult(StatusCodes.Status404NotFound, $"Unknown MCP server '{server}'", "invalid_request_error", "server_id", "mcp_server_not_found");
        }

        var access = McpAccess.Of(AuthContext.Of(http));
        var tools = new JsonArray();
        foreach (var (settings, tool) in await gateway.ListToolsAsync(access, server.Length > 0 ? server : null, http.RequestAborted))
        {
            var json = JsonSerializer.SerializeToNode(tool, McpJsonUtilities.DefaultOptions)!.AsObject();
            json["mcp_info"] = new JsonObject
            {
                ["server_name"] = settings.Prefix,
                ["description"] = settings.Description,
                ["transport"] = settings.Transport.ToString().ToLowerInvariant(),
            };
            tools.Add(json);
        }

        return new JsonTextResult(new JsonObject
        {
            ["tools"] = tools,
            ["error"] = null,
            ["message"] = "Successfully retrieved tools",
        }.ToJsonString(), NoHeaders);
    }

    private static async Task<IResult> CallAsync(HttpContext http, McpGateway gateway, IProxyConfigProvider config)
    {
        var body = await RequestBody.ReadAsync(http, config);
        if (body.Error is { } invalid)
        {
            return invalid;
        }

        var json = body.Json!;
        if (json["name"] is not JsonValue nameValue || nameValue.GetValueKind() != JsonValueKind.String || nameValue.GetValue<string>().Length == 0)
        {
            return OpenAiErrorResult.BadRequest("name: required, the tool's name (<server>-<tool>, or the upstream name with server_id)", "name");
        }

        string? server = null;
        if (json["server_id"] is { } serverNode)
        {
            if (serverNode is not JsonValue s || s.GetValueKind() != JsonValueKind.String)
            {
                return OpenAiErrorResult.BadRequest("server_id: expected a string", "server_id");
            }

            server = s.GetValue<string>();
        }

        Dictionary<string, JsonElement>? arguments = null;
        if (json["arguments"] is { } argumentsNode)
        {
            if (argumentsNode is not JsonObject argumentsObject)
            {
                return OpenAiErrorResult.BadRequest("arguments: expected an object", "arguments");
            }

            arguments = argumentsObject.ToDictionary(a => a.Key, a => JsonSerializer.SerializeToElement(a.Value), StringComparer.Ordinal);
        }

        var access = McpAccess.Of(AuthContext.Of(http));
        var outcome = await gateway.CallToolAsync(access, nameValue.GetValue<string>(), server, arguments, http.RequestAborted);
        if (outcome.Result is { } result)
        {
            return new JsonTextResult(JsonSerializer.Serialize(result, McpJsonUtilities.DefaultOptions), NoHeaders);
        }

        var type = outcome.Status switch
        {
            StatusCodes.Status403Forbidden => "auth_error",
            StatusCodes.Status404NotFound or StatusCodes.Status400BadRequest => "invalid_request_error",
            _ => "api_error",
        };
        return new OpenAiErrorResult(outcome.Status, outcome.Error!, type, null, outcome.Code);
    }
}
