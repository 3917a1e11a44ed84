using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Broker.Config.Model;
using Broker.Config.Providers;
using Broker.Contracts.Inference;

namespace Broker.Workers.Providers.Bedrock;

/// <summary>
/// Amazon Bedrock's Converse and ConverseStream APIs, SigV4-signed, behind the OpenAI shapes. Credentials and region
/// come from litellm_params (<c>aws_access_key_id</c>, <c>aws_secret_access_key</c>, <c>aws_session_token</c>,
/// <c>aws_region_name</c>) else the usual AWS environment variables; <c>api_base</c> or
/// <c>aws_bedrock_runtime_endpoint</c> replaces <c>https://bedrock-runtime.{region}.amazonaws.com</c>.
/// </summary>
public sealed class BedrockProvider(ProviderHttp http, TimeProvider timeProvider, Func<string, string?>? environment = null) : IProvider
{
    public static string Name => BuiltInProviders.Bedrock.Name;
    public const string SigningService = "bedrock";
    public const string DefaultRegion = "us-east-1";

    /// <summary>litellm_params that configure the AWS client and are never sent to the model.</summary>
    public static readonly IReadOnlySet<string> AwsParams = new HashSet<string>(StringComparer.Ordinal)
    {
        "aws_access_key_id", "aws_secret_access_key", "aws_session_token", "aws_region_name", "aws_bedrock_runtime_endpoint",
        "aws_profile_name", "aws_role_name", "aws_session_name", "aws_web_identity_token", "aws_sts_endpoint",
    };

    private readonly Func<string, string?> _environment = environment ?? Environment.GetEnvironmentVariable;

    public async Task<ProviderResult> CompleteAsync(ProviderCall call, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(call);
        var deployment = call.Deployment;
        if (Credentials(deployment) is not { } credentials)
        {
            return ProviderResult.Failure(MissingCredentials);
        }

        var region = Region(deployment);
        var (body, _, error) = await http.PostJsonAsync(
            Name, Url(deployment, call.ProviderModel, region, "converse"), BedrockTranslator.ToConverseRequest(call.Request),
            Sign(credentials, region), deployment.Timeout ?? TranslatingProvider.DefaultTimeout, cancellationToken);
        if (error is not null)
        {
            return ProviderResult.Failure(error);
        }

        var (completion, usage) = BedrockTranslator.ToOpenAiCompletion(body!, call.ClientModel, timeProvider.GetUtcNow().ToUnixTimeSeconds());
        return ProviderResult.Success(completion, usage);
    }

    public async Task<ProviderStream> StreamAsync(ProviderCall call, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(call);
        var deployment = call.Deployment;
        if (Credentials(deployment) is not { } credentials)
        {
            return ProviderStream.Failed(MissingCredentials);
        }

        var region = Region(deployment);
        var (response, error) = await http.PostStreamAsync(
            Name, Url(deployment, call.ProviderModel, region, "converse-stream"), BedrockTranslator.ToConverseRequest(call.Request),
            Sign(credentials, region), deployment.StreamTimeout ?? deployment.Timeout ?? TranslatingProvider.DefaultTimeout, cancellationToken);
        if (error is not null)
        {
            return ProviderStream.Failed(error);
        }

        var translator = new BedrockStreamTranslator(call.ClientModel, timeProvider.GetUtcNow().ToUnixTimeSeconds());
        return ProviderStream.Of(ReadChunksAsync(response!, translator, cancellationToken));
    }

    /// <summary><c>{endpoint}/model/{modelId}/{operation}</c>; the model id is one escaped path segment (ARNs and <c>:</c> included).</summary>
    public static Uri Url(ModelDeployment deployment, string modelId, string region, string operation)
    {
        ArgumentNullException.ThrowIfNull(deployment);
        ArgumentNullException.ThrowIfNull(modelId);
        // LiteLLM's "bedrock/converse/<id>" names the route, not the model
        var id = modelId.StartsWith("converse/", StringComparison.Ordinal) ? modelId["converse/".Length..] : modelId;
        var root = (deployment.ApiBase ?? Param(deployment, "aws_bedrock_runtime_endpoint") ?? $"https://bedrock-runtime.{region}.amazonaws.com").TrimEnd('/');
        return new Uri($"{root}/model/{Uri.EscapeDataString(id)}/{operation}");
    }

    /// <summary>litellm_params' keys, else AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN; null when there are none.</summary>
    public AwsCredentials? Credentials(ModelDeployment deployment)
    {
        ArgumentNullException.ThrowIfNull(deployment);
        var keyId = Param(deployment, "aws_access_key_id");
        var secret = Param(deployment, "aws_secret_access_key");
        var token = Param(deployment, "aws_session_token");
        if (keyId is null || secret is null)
        {
            keyId = NullIfEmpty(_environment("AWS_ACCESS_KEY_ID"));
            secret = NullIfEmpty(_environment("AWS_SECRET_ACCESS_KEY"));
            token = NullIfEmpty(_environment("AWS_SESSION_TOKEN"));
        }

        return keyId is null || secret is null ? null : new AwsCredentials(keyId, secret, token);
    }

    /// <summary>aws_region_name, else AWS_REGION_NAME, AWS_REGION, AWS_DEFAULT_REGION, else us-east-1.</summary>
    public string Region(ModelDeployment deployment)
    {
        ArgumentNullException.ThrowIfNull(deployment);
        return Param(deployment, "aws_region_name")
            ?? NullIfEmpty(_environment("AWS_REGION_NAME"))
            ?? NullIfEmpty(_environment("AWS_REGION"))
            ?? NullIfEmpty(_environment("AWS_DEFAULT_REGION"))
            ?? DefaultRegion;
    }

    private static ProviderError MissingCredentials => new(
        ProviderErrorClass.Authentication, 401,
        "bedrock: no AWS credentials (set aws_access_key_id and aws_secret_access_key in litellm_params, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)",
        "invalid_api_key");

    private Action<HttpRequestMessage, byte[]> Sign(AwsCredentials credentials, string region)
    {
        var now = timeProvider.GetUtcNow();
        return (request, body) => AwsSigV4.Sign(request, body, credentials, region, SigningService, now);
    }

    private static string? Param(ModelDeployment deployment, string name) =>
        deployment.DefaultParams.TryGetValue(name, out var value) && value.ValueKind == JsonValueKind.String ? NullIfEmpty(value.GetString()) : null;

    private static string? NullIfEmpty(string? value) => string.IsNullOrEmpty(value) ? null : value;

    private static async IAsyncEnumerable<JsonObject> ReadChunksAsync(
        HttpResponseMessage response, BedrockStreamTranslator translator, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        using (response)
        {
            Stream body;
            try
            {
                body = await response.Content.ReadAsStreamAsync(cancellationToken);
            }
            catch (HttpRequestException ex)
            {
                throw new ProviderStreamException(ProviderErrorClassifier.Unreachable(Name, ex.HttpRequestError.ToString()));
            }

            await using (body)
            {
                await using var messages = AwsEventStream.ReadAsync(body, cancellationToken).GetAsyncEnumerator(cancellationToken);
                while (true)
                {
                    bool more;
                    try
                    {
                        more = await messages.MoveNextAsync();
                    }
                    catch (Exception ex) when (ex is HttpRequestException or IOException)
                    {
                        // InvalidDataException (a corrupt frame) is an IOException too
                        throw new ProviderStreamException(ProviderErrorClassifier.Unreachable(Name, "stream broken: " + ex.Message));
                    }

                    if (!more)
                    {
                        break;
                    }

                    var message = messages.Current;
                    var payload = Encoding.UTF8.GetString(message.Payload);
                    if (message.Header(":message-type") is "exception" or "error")
                    {
                        throw BedrockStreamTranslator.Exception(message.Header(":exception-type") ?? message.Header(":error-code"), payload);
                    }

                    JsonObject? data;
                    try
                    {
                        data = JsonNode.Parse(payload) as JsonObject;
                    }
                    catch (JsonException)
                    {
                        continue;
                    }

                    if (data is null)
                    {
                        continue;
                    }

                    foreach (var chunk in translator.Translate(message.Header(":event-type") ?? "", data))
                    {
                        yield return chunk;
                    }
                }

                if (!translator.Ended)
                {
                    throw new ProviderStreamException(ProviderErrorClassifier.Unreachable(Name, "stream ended before its metadata event"));
                }
            }
        }
    }
}
