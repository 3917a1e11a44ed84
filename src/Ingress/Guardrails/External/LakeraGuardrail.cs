using System.Text.Json.Nodes;
using Broker.Config.Model;

namespace Broker.Ingress.Guardrails.External;

/// <summary>
/// lakera_prompt_injection: Lakera Guard's screening API (<c>POST {api_base}/v2/guard</c> with the messages, bearer
/// api_key); <c>"flagged": true</c> blocks.
/// </summary>
public sealed class LakeraGuardrail(IHttpClientFactory clients) : IGuardrail
{
    public string Kind => GuardrailTypes.Lakera;

    public async Task<GuardrailVerdict> RunAsync(GuardrailCall call, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(call);
        var d = call.Definition;
        var role = call.Phase == GuardrailPhase.Answer ? "assistant" : "user";
        var messages = new JsonArray(call.Texts.Where(t => t.Length > 0).Select(t => (JsonNode)new JsonObject { ["role"] = role, ["content"] = t }).ToArray());
        if (messages.Count == 0)
        {
            return GuardrailVerdict.Allow;
        }

        var (json, failure) = await GuardrailHttp.PostAsync(clients, GuardrailHttp.Join(d.ApiBase!, "/v2/guard"), new JsonObject { ["messages"] = messages }, d.ApiKey, cancellationToken);
        if (failure is not null)
        {
            return GuardrailVerdict.Unavailable("Lakera Guard: " + failure);
        }

        return json?["flagged"] is JsonValue flagged && flagged.TryGetValue<bool>(out var isFlagged)
            ? isFlagged ? GuardrailVerdict.Block("Lakera Guard flagged the text") : GuardrailVerdict.Allow
            : GuardrailVerdict.Unavailable("Lakera Guard's answer has no 'flagged'");
    }
}
