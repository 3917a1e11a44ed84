using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Broker.Config.Model;
using Broker.Workers.Providers.Bedrock;

namespace Broker.Host.Secrets;

/// <summary>
/// AWS Secrets Manager's JSON API (<c>secretsmanager.GetSecretValue</c>, SigV4-signed): the secret named like the
/// variable, its <c>SecretString</c>. With <c>primary_secret_name</c> one JSON secret holds every name as a key.
/// Credentials from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (/ AWS_SESSION_TOKEN), region from AWS_REGION_NAME.
/// </summary>
internal sealed class AwsSecretsManagerSource(
    HttpClient http, Func<string, string?> env, string? endpoint, string? primarySecretName, TimeProvider time) : ISecretSource
{
    private readonly string _region = AwsSettings.Region(env, KeyManagementSystems.AwsSecretManager);
    private readonly AwsCredentials _credentials = AwsSettings.Credentials(env)
        ?? throw new SecretManagerException("aws_secret_manager needs AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY");
    private JsonObject? _primary;

    public string System => KeyManagementSystems.AwsSecretManager;

    private Uri Endpoint => new(AwsSettings.Endpoint(env, endpoint, "SECRETS_MANAGER") is { } configured
        ? configured.TrimEnd('/') + "/"
        : $"https://secretsmanager.{_region}.amazonaws.com/");

    public async Task<string?> ReadAsync(string name, CancellationToken cancellationToken)
    {
        if (primarySecretName is null)
        {
            return await GetSecretStringAsync(name, cancellationToken);
        }

        if (_primary is null)
        {
            var text = await GetSecretStringAsync(primarySecretName, cancellationToken)
                ?? throw new SecretManagerException($"aws_secret_manager has no secret '{primarySecretName}' (primary_secret_name)");
            _primary = JsonNode.Parse(text) as JsonObject
                ?? throw new SecretManagerException($"aws_secret_manager: primary_secret_name '{primarySecretName}' is not a JSON object");
        }

        return _primary[name]?.ToString();
    }

    /// <summary>Forgets the primary secret so the next read fetches it again (refresh).</summary>
    public void Forget() => _primary = null;

    private async Task<string?> GetSecretStringAsync(string secretId, CancellationToken cancellationToken)
    {
        var body = Encoding.UTF8.GetBytes(new JsonObject { ["SecretId"] = secretId }.ToJsonString());
        using var request = new HttpRequestMessage(HttpMethod.Post, Endpoint) { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/x-amz-json-1.1");
        request.Headers.TryAddWithoutValidation("X-Amz-Target", "secretsmanager.GetSecretValue");
        AwsSigV4.Sign(request, body, _credentials, _region, "secretsmanager", time.GetUtcNow());
        HttpResponseMessage response;
        try
        {
            response = await http.SendAsync(request, cancellationToken);
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
        {
            throw new SecretManagerException($"aws_secret_manager at {Endpoint} is unreachable: {ex.Message}", ex);
        }

        using (response)
        {
            var text = await response.Content.ReadAsStringAsync(cancellationToken);
            JsonNode? json = null;
            try
            {
                json = JsonNode.Parse(text);
            }
            catch (System.Text.Json.JsonException)
            {
                // reported below with the status
            }

            if (!response.IsSuccessStatusCode)
            {
                var type = json?["__type"]?.ToString() ?? "";
                if (type.EndsWith("ResourceNotFoundException", StringComparison.Ordinal))
                {
                    return null;
                }

                throw new SecretManagerException($"aws_secret_manager answered {(int)response.StatusCode}: {HashicorpVaultSource.Shorten(text)}");
            }

            return json?["SecretString"]?.GetValue<string>()
                ?? (json?["SecretBinary"]?.GetValue<string>() is { } binary ? Encoding.UTF8.GetString(Convert.FromBase64String(binary)) : null);
        }
    }
}
