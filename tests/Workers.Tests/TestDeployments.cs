using System.Text.Json;
using Broker.Config.Model;

namespace Broker.Workers.Tests;

internal static class TestDeployments
{
    public static ModelDeployment Create(
        string model = "openai/gpt-4o",
        string modelName = "gpt-4o",
        string? apiBase = null,
        string? apiKey = "sk-test-abcdef123456",
        string? apiVersion = null,
        double? weight = null,
        int? rpm = null,
        int? order = null,
        int? maxParallel = null,
        string id = "dep-1",
        IReadOnlyDictionary<string, JsonElement>? defaults = null)
    {
        var slash = model.IndexOf('/', StringComparison.Ordinal);
        return new ModelDeployment
        {
            ModelName = modelName,
            Model = model,
            Provider = slash < 0 ? "openai" : model[..slash],
            ProviderModel = slash < 0 ? model : model[(slash + 1)..],
            Id = id,
            Index = 0,
            ApiBase = apiBase,
            ApiKey = apiKey is null ? null : new Secret(apiKey),
            ApiVersion = apiVersion,
            Weight = weight,
            Rpm = rpm,
            Order = order,
            MaxParallelRequests = maxParallel,
            DefaultParams = defaults ?? new Dictionary<string, JsonElement>(),
            ModelInfo = ModelInfo.Empty,
        };
    }

    public static ModelGroup Group(string name, params ModelDeployment[] deployments) =>
        new() { Name = name, Deployments = deployments };
}
