using System.Text;
using Broker.Config.Model;

namespace Broker.Host.Secrets;

/// <summary>
/// Google Cloud Secret Manager's REST API: <c>GET /v1/projects/{project}/secrets/{NAME}/versions/latest:access</c>,
/// the value in <c>payload.data</c> (base64). Project from <c>GOOGLE_SECRET_MANAGER_PROJECT_ID</c> (else
/// <c>GOOGLE_CLOUD_PROJECT</c>). Access token as <see cref="GoogleApi"/> gets it.
/// </summary>
internal sealed class GoogleSecretManagerSource : ISecretSource
{
    private readonly GoogleApi _google;
    private readonly string _project;
    private readonly Uri _endpoint;

    public GoogleSecretManagerSource(HttpClient http, Func<string, string?> env, string? endpoint, TimeProvider time)
    {
        _google = new GoogleApi(http, env, time, KeyManagementSystems.GoogleSecretManager);
        _project = HashicorpVaultSource.NonEmpty(env("GOOGLE_SECRET_MANAGER_PROJECT_ID")) ?? HashicorpVaultSource.NonEmpty(env("GOOGLE_CLOUD_PROJECT"))
            ?? throw new SecretManagerException("google_secret_manager needs GOOGLE_SECRET_MANAGER_PROJECT_ID (the Google Cloud project id)");
        _endpoint = new Uri((endpoint ?? "https://secretmanager.googleapis.com").TrimEnd('/') + "/");
    }

    public string System => KeyManagementSystems.GoogleSecretManager;

    public async Task<string?> ReadAsync(string name, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get,
            new Uri(_endpoint, $"v1/projects/{Uri.EscapeDataString(_project)}/secrets/{Uri.EscapeDataString(name)}/versions/latest:access"));
        var body = await _google.CallAsync(request, allowNotFound: true, cancellationToken);
        if (body is null)
        {
            return null;
        }

        var data = body["payload"]?["data"]?.GetValue<string>()
            ?? throw new SecretManagerException($"google_secret_manager: the secret {name} has no payload.data");
        return Encoding.UTF8.GetString(Convert.FromBase64String(data));
    }
}
