using System.Text.Json.Nodes;
using Broker.Config.Model;

namespace Broker.Workers.Providers;

/// <summary>One call to one deployment: the OpenAI-shaped request with the deployment's defaults merged in.</summary>
/// <param name="Deployment">The deployment chosen by routing.</param>
/// <param name="ProviderModel">The model name the provider knows (wildcards already filled in).</param>
/// <param name="Request">OpenAI chat completion request; <c>model</c> is <paramref name="ProviderModel"/>.</param>
/// <param name="ClientModel">The model name the client asked for, echoed in answers.</param>
public sealed record ProviderCall(ModelDeployment Deployment, string ProviderModel, JsonObject Request, string ClientModel);
