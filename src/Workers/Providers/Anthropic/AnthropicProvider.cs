namespace Broker.Workers.Providers.Anthropic;

/// <summary>Anthropic's Messages API, behind the OpenAI chat completions shape.</summary>
public sealed class AnthropicProvider(ProviderHttp http, TimeProvider timeProvider) : IChatProvider
{
    public const string DefaultBase = "https://api.anthropic.com";
    public const string ApiVersion = "2023-06-01";

    public async Task<ProviderResult> CompleteAsync(ProviderCall call, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(call);
        var deployment = call.Deployment;
        var root = (deployment.ApiBase ?? DefaultBase).TrimEnd('/');
        var url = new Uri(root.EndsWith("/v1", StringComparison.Ordinal) ? root + "/messages" : root + "/v1/messages");
        var payload = AnthropicTranslator.ToAnthropicRequest(call.Request, call.ProviderModel);
        var apiKey = deployment.ApiKey?.Value;

        var (body, _, error) = await http.PostJsonAsync(
            "anthropic",
            url,
            payload,
            h =>
            {
                h.Add("anthropic-version", ApiVersion);
                if (!string.IsNullOrEmpty(apiKey))
                {
                    h.Add("x-api-key", apiKey);
                }
            },
            deployment.Timeout ?? TimeSpan.FromMinutes(10),
            cancellationToken);

        if (error is not null)
        {
            return ProviderResult.Failure(error);
        }

        var (completion, usage) = AnthropicTranslator.ToOpenAiCompletion(body!, call.ClientModel, timeProvider.GetUtcNow().ToUnixTimeSeconds());
        return ProviderResult.Success(completion, usage);
    }
}
