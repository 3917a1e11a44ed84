using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using Broker.Config.Loading;
using Broker.Host.Cli;
using Broker.Host.Secrets;
using Broker.Host.Tests.Cli;
using Broker.Host.Tests.Infrastructure;
using Broker.TestKit;
using Microsoft.Extensions.Time.Testing;

namespace Broker.Host.Tests.Secrets;

/// <summary>
/// general_settings.key_management_system: a deployment's <c>api_key: os.environ/UPSTREAM_KEY</c> that only the key
/// manager holds reaches the provider, through the real start-up path, against a fake manager speaking each API.
/// </summary>
public sealed class KeyManagerTests
{
    private static string Yaml(string upstream, string general) => $$"""
        model_list:
          - model_name: gpt-4o
            litellm_params:
              model: openai/gpt-4o
              api_base: {{upstream}}/v1
              api_key: os.environ/UPSTREAM_KEY
        general_settings:
        {{general}}
        """;

    private static async Task<string?> ProviderKeyAsync(BrokerRunner broker, FakeUpstream upstream)
    {
        var response = await broker.Http.PostAsJsonAsync("v1/chat/completions",
            new { model = "gpt-4o", messages = new[] { new { role = "user", content = "hi" } } });
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return Assert.Single(upstream.Requests).Headers.GetValueOrDefault("authorization");
    }

    [Fact]
    public async Task Start_HashicorpVaultHoldsTheKey_ProviderGetsIt()
    {
        await using var upstream = await FakeUpstream.StartOpenAiAsync();
        await using var vault = await FakeSecretManager.StartAsync();
        vault.Secrets["litellm/UPSTREAM_KEY"] = "sk-from-vault-1111";

        await using var broker = await BrokerRunner.StartEmbeddedAsync(
            Yaml(upstream.BaseUrl, "  key_management_system: hashicorp_vault"),
            new Dictionary<string, string>
            {
                ["HCP_VAULT_ADDR"] = vault.BaseUrl,
                ["HCP_VAULT_TOKEN"] = vault.VaultToken,
                ["HCP_VAULT_PATH_PREFIX"] = "litellm",
                ["HCP_VAULT_NAMESPACE"] = "admin",
            });

        Assert.Equal("Bearer sk-from-vault-1111", await ProviderKeyAsync(broker, upstream));
        var read = Assert.Single(vault.Requests, r => r.Path == "/v1/secret/data/litellm/UPSTREAM_KEY");
        Assert.Equal("admin", read.Headers["x-vault-namespace"]);
    }

    [Fact]
    public async Task Start_HashicorpVaultAppRole_LogsInThenReads()
    {
        await using var upstream = await FakeUpstream.StartOpenAiAsync();
        await using var vault = await FakeSecretManager.StartAsync();
        vault.Secrets["UPSTREAM_KEY"] = "sk-approle-2222";

        await using var broker = await BrokerRunner.StartEmbeddedAsync(
            Yaml(upstream.BaseUrl, "  key_management_system: hashicorp_vault"),
            new Dictionary<string, string>
            {
                ["HCP_VAULT_ADDR"] = vault.BaseUrl,
                ["HCP_VAULT_APPROLE_ROLE_ID"] = "role",
                ["HCP_VAULT_APPROLE_SECRET_ID"] = "secret",
            });

        Assert.Equal("Bearer sk-approle-2222", await ProviderKeyAsync(broker, upstream));
        Assert.Contains(vault.Requests, r => r.Path == "/v1/auth/approle/login" && r.Json["role_id"]!.GetValue<string>() == "role");
    }

    [Fact]
    public async Task Start_AwsSecretManagerHoldsTheKey_ProviderGetsItAndTheCallIsSigned()
    {
        await using var upstream = await FakeUpstream.StartOpenAiAsync();
        await using var aws = await FakeSecretManager.StartAsync();
        aws.Secrets["UPSTREAM_KEY"] = "sk-from-aws-3333";

        await using var broker = await BrokerRunner.StartEmbeddedAsync(
            Yaml(upstream.BaseUrl, """
                  key_management_system: aws_secret_manager
                  key_management_settings:
                    hosted_keys: ["UPSTREAM_KEY"]
                """),
            AwsEnv(aws));

        Assert.Equal("Bearer sk-from-aws-3333", await ProviderKeyAsync(broker, upstream));
        var call = Assert.Single(aws.Requests);
        Assert.Equal("secretsmanager.GetSecretValue", call.Headers["x-amz-target"]);
        Assert.Contains("/us-east-1/secretsmanager/aws4_request", call.Headers["authorization"], StringComparison.Ordinal);
    }

    [Fact]
    public async Task Load_HostedKeysNamed_OnlyThoseAreReadFromTheManagerTheRestFromTheEnvironment()
    {
        await using var aws = await FakeSecretManager.StartAsync();
        aws.Secrets["UPSTREAM_KEY"] = "sk-from-aws-7777";
        aws.Secrets["MASTER_KEY"] = "sk-master-from-aws";
        var path = Path.Combine(Path.GetTempPath(), $"broker-hosted-{Guid.NewGuid():N}.yaml");
        await File.WriteAllTextAsync(path, Yaml("http://127.0.0.1:9", """
              key_management_system: aws_secret_manager
              key_management_settings:
                hosted_keys: ["UPSTREAM_KEY"]
              master_key: os.environ/MASTER_KEY
            """));
        var env = AwsEnv(aws);
        env["MASTER_KEY"] = "sk-master-from-env";
        try
        {
            var loaded = await SecretConfigLoader.LoadFileAsync(path, n => env.GetValueOrDefault(n), CancellationToken.None);

            Assert.True(loaded.IsUsable, string.Join("\n", loaded.Diagnostics));
            Assert.Equal("sk-from-aws-7777", loaded.GetEnvironmentVariable!("UPSTREAM_KEY"));
            Assert.Equal("sk-master-from-env", loaded.Config!.GeneralSettings.MasterKey?.Value);
            var read = Assert.Single(aws.Requests);
            Assert.Equal("UPSTREAM_KEY", read.Json["SecretId"]!.GetValue<string>());
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public async Task Start_AwsPrimarySecretName_ReadsTheKeyFromOneJsonSecret()
    {
        await using var upstream = await FakeUpstream.StartOpenAiAsync();
        await using var aws = await FakeSecretManager.StartAsync();
        aws.Secrets["litellm_secrets"] = """{"UPSTREAM_KEY": "sk-primary-4444", "OTHER": "x"}""";

        await using var broker = await BrokerRunner.StartEmbeddedAsync(
            Yaml(upstream.BaseUrl, """
                  key_management_system: aws_secret_manager
                  key_management_settings:
                    primary_secret_name: litellm_secrets
                """),
            AwsEnv(aws));

        Assert.Equal("Bearer sk-primary-4444", await ProviderKeyAsync(broker, upstream));
    }

    [Fact]
    public async Task Start_AwsKmsEncryptedValue_ProviderGetsThePlaintext()
    {
        await using var upstream = await FakeUpstream.StartOpenAiAsync();
        await using var kms = await FakeSecretManager.StartAsync();
        var env = AwsEnv(kms);
        env["UPSTREAM_KEY"] = FakeSecretManager.Encrypt("sk-decrypted-5555");

        await using var broker = await BrokerRunner.StartEmbeddedAsync(
            Yaml(upstream.BaseUrl, """
                  key_management_system: aws_kms
                  key_management_settings:
                    hosted_keys: ["UPSTREAM_KEY"]
                """),
            env);

        Assert.Equal("Bearer sk-decrypted-5555", await ProviderKeyAsync(broker, upstream));
        Assert.Contains(kms.Requests, r => r.Headers.GetValueOrDefault("x-amz-target") == "TrentService.Decrypt");
    }

    [Fact]
    public async Task Start_GoogleSecretManagerHoldsTheKey_ProviderGetsItWithTheServiceAccountsToken()
    {
        await using var upstream = await FakeUpstream.StartOpenAiAsync();
        await using var google = await FakeSecretManager.StartAsync();
        google.Secrets["UPSTREAM_KEY"] = "sk-from-google-8888";
        var keyFile = google.WriteGoogleServiceAccountFile(Path.Combine(Path.GetTempPath(), $"broker-sa-{Guid.NewGuid():N}.json"));
        try
        {
            await using var broker = await BrokerRunner.StartEmbeddedAsync(
                Yaml(upstream.BaseUrl, $"""
                      key_management_system: google_secret_manager
                      key_management_settings:
                        endpoint: {google.BaseUrl}
                    """),
                new Dictionary<string, string> { ["GOOGLE_SECRET_MANAGER_PROJECT_ID"] = "broker-test", ["GOOGLE_APPLICATION_CREDENTIALS"] = keyFile });

            Assert.Equal("Bearer sk-from-google-8888", await ProviderKeyAsync(broker, upstream));
            Assert.Contains(google.Requests, r => r.Path == "/token");
            Assert.Contains(google.Requests, r => r.Path == "/v1/projects/broker-test/secrets/UPSTREAM_KEY/versions/latest:access");
        }
        finally
        {
            File.Delete(keyFile);
        }
    }

    [Fact]
    public async Task Start_GoogleKmsEncryptedValue_ProviderGetsThePlaintextDecryptedWithTheNamedKey()
    {
        const string key = "projects/broker-test/locations/global/keyRings/broker/cryptoKeys/litellm";
        await using var upstream = await FakeUpstream.StartOpenAiAsync();
        await using var google = await FakeSecretManager.StartAsync();
        var keyFile = google.WriteGoogleServiceAccountFile(Path.Combine(Path.GetTempPath(), $"broker-sa-{Guid.NewGuid():N}.json"));
        try
        {
            await using var broker = await BrokerRunner.StartEmbeddedAsync(
                Yaml(upstream.BaseUrl, $"""
                      key_management_system: google_kms
                      key_management_settings:
                        endpoint: {google.BaseUrl}
                    """),
                new Dictionary<string, string>
                {
                    ["GOOGLE_KMS_RESOURCE_NAME"] = key,
                    ["GOOGLE_APPLICATION_CREDENTIALS"] = keyFile,
                    ["UPSTREAM_KEY"] = FakeSecretManager.Encrypt("sk-google-kms-9999"),
                });

            Assert.Equal("Bearer sk-google-kms-9999", await ProviderKeyAsync(broker, upstream));
            var decrypt = Assert.Single(google.Requests, r => r.Path.EndsWith(":decrypt", StringComparison.Ordinal));
            Assert.Equal($"/v1/{key}:decrypt", decrypt.Path);
            Assert.Equal("Bearer " + google.GoogleToken, decrypt.Headers["authorization"]);
        }
        finally
        {
            File.Delete(keyFile);
        }
    }

    [Fact]
    public async Task Load_UseGoogleKmsWithAPlainBase64Value_UsesItAsItIsAndWarnsWithoutTheValue()
    {
        // a hex API key is valid base64: LiteLLM tries it, KMS refuses it as ciphertext, and the value is used as it is
        const string hex = "0123456789abcdef0123456789abcdef";
        await using var google = await FakeSecretManager.StartAsync();
        var keyFile = google.WriteGoogleServiceAccountFile(Path.Combine(Path.GetTempPath(), $"broker-sa-{Guid.NewGuid():N}.json"));
        var path = Path.Combine(Path.GetTempPath(), $"broker-kms-{Guid.NewGuid():N}.yaml");
        await File.WriteAllTextAsync(path, Yaml("http://127.0.0.1:9", $"""
              use_google_kms: true
              key_management_settings:
                endpoint: {google.BaseUrl}
            """).Replace("os.environ/UPSTREAM_KEY", "os.environ/HEX_KEY", StringComparison.Ordinal) + "\n" + """
              master_key: os.environ/MASTER_KEY
            """);
        var env = new Dictionary<string, string>
        {
            ["GOOGLE_KMS_RESOURCE_NAME"] = "projects/p/locations/global/keyRings/r/cryptoKeys/k",
            ["GOOGLE_APPLICATION_CREDENTIALS"] = keyFile,
            ["HEX_KEY"] = hex,
            ["MASTER_KEY"] = FakeSecretManager.Encrypt("sk-master-from-kms"),
        };
        try
        {
            var loaded = await SecretConfigLoader.LoadFileAsync(path, n => env.GetValueOrDefault(n), CancellationToken.None);

            Assert.True(loaded.IsUsable, string.Join("\n", loaded.Diagnostics));
            Assert.Equal(hex, loaded.GetEnvironmentVariable!("HEX_KEY"));
            Assert.Equal("sk-master-from-kms", loaded.Config!.GeneralSettings.MasterKey?.Value);
            var warning = Assert.Single(loaded.Diagnostics, d => d.Severity == ConfigSeverity.Warning && d.Message.Contains("HEX_KEY", StringComparison.Ordinal));
            Assert.Contains("google_kms", warning.Message, StringComparison.Ordinal);
            Assert.DoesNotContain(hex, string.Join("\n", loaded.Diagnostics), StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(path);
            File.Delete(keyFile);
        }
    }

    [Fact]
    public async Task CheckConfig_GoogleKmsHostedKeyIsNotCiphertext_ErrorNamesTheVariableNotTheValue()
    {
        const string hex = "0123456789abcdef0123456789abcdef";
        await using var google = await FakeSecretManager.StartAsync();
        var keyFile = google.WriteGoogleServiceAccountFile(Path.Combine(Path.GetTempPath(), $"broker-sa-{Guid.NewGuid():N}.json"));
        var path = Path.Combine(Path.GetTempPath(), $"broker-kms-{Guid.NewGuid():N}.yaml");
        await File.WriteAllTextAsync(path, Yaml("http://127.0.0.1:9", $"""
              key_management_system: google_kms
              key_management_settings:
                endpoint: {google.BaseUrl}
                hosted_keys: ["UPSTREAM_KEY"]
            """));
        var env = new Dictionary<string, string>
        {
            ["GOOGLE_KMS_RESOURCE_NAME"] = "projects/p/locations/global/keyRings/r/cryptoKeys/k",
            ["GOOGLE_APPLICATION_CREDENTIALS"] = keyFile,
            ["UPSTREAM_KEY"] = hex,
        };
        try
        {
            using var stdout = new StringWriter();
            using var stderr = new StringWriter();
            var code = await BrokerCli.InvokeAsync(["check-config", "--config", path], stdout, stderr, n => env.GetValueOrDefault(n));

            Assert.Equal(1, code);
            var output = stdout.ToString() + stderr;
            Assert.Contains("cannot read UPSTREAM_KEY (os.environ/UPSTREAM_KEY) from google_kms", output, StringComparison.Ordinal);
            Assert.Contains("Cloud KMS answered 400", output, StringComparison.Ordinal);
            Assert.DoesNotContain(hex, output, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(path);
            File.Delete(keyFile);
        }
    }

    [Fact]
    public async Task Load_AzureKeyVaultNameWithUnderscore_ComesFromTheEnvironmentWithAWarning()
    {
        var path = Path.Combine(Path.GetTempPath(), $"broker-kv-{Guid.NewGuid():N}.yaml");
        await File.WriteAllTextAsync(path, Yaml("http://127.0.0.1:9", "  key_management_system: azure_key_vault"));
        var env = new Dictionary<string, string>
        {
            // never asked: the name cannot be a Key Vault secret's, so nothing is sent to this address
            ["AZURE_KEY_VAULT_URI"] = "https://127.0.0.1:9/",
            ["AZURE_CLIENT_ID"] = FakeAzureKeyVault.ClientId,
            ["AZURE_CLIENT_SECRET"] = FakeAzureKeyVault.ClientSecret,
            ["AZURE_TENANT_ID"] = FakeAzureKeyVault.TenantId,
            ["UPSTREAM_KEY"] = "sk-from-env",
        };
        try
        {
            var loaded = await SecretConfigLoader.LoadFileAsync(path, n => env.GetValueOrDefault(n), CancellationToken.None);

            Assert.True(loaded.IsUsable, string.Join("\n", loaded.Diagnostics));
            Assert.Equal("sk-from-env", loaded.GetEnvironmentVariable!("UPSTREAM_KEY"));
            var warning = Assert.Single(loaded.Diagnostics, d => d.Severity == ConfigSeverity.Warning);
            Assert.Contains("azure_key_vault: UPSTREAM_KEY (os.environ/UPSTREAM_KEY) cannot be a Key Vault secret name", warning.Message, StringComparison.Ordinal);
            Assert.Contains("os.environ/UPSTREAM-KEY", warning.Message, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public async Task CheckConfig_AzureKeyVaultUnreachable_ErrorNamesTheManagerAndTheVariable()
    {
        var path = Path.Combine(Path.GetTempPath(), $"broker-kv-{Guid.NewGuid():N}.yaml");
        await File.WriteAllTextAsync(path, Yaml("http://127.0.0.1:9", "  key_management_system: azure_key_vault")
            .Replace("os.environ/UPSTREAM_KEY", "os.environ/UPSTREAM-KEY", StringComparison.Ordinal));
        var env = new Dictionary<string, string>
        {
            ["AZURE_KEY_VAULT_URI"] = "https://127.0.0.1:9/",
            ["AZURE_CLIENT_ID"] = FakeAzureKeyVault.ClientId,
            ["AZURE_CLIENT_SECRET"] = FakeAzureKeyVault.ClientSecret,
            ["AZURE_TENANT_ID"] = FakeAzureKeyVault.TenantId,
        };
        try
        {
            using var stdout = new StringWriter();
            using var stderr = new StringWriter();
            var code = await BrokerCli.InvokeAsync(["check-config", "--config", path], stdout, stderr, n => env.GetValueOrDefault(n));

            Assert.Equal(1, code);
            var output = stdout.ToString() + stderr;
            Assert.Contains("cannot read UPSTREAM-KEY (os.environ/UPSTREAM-KEY) from azure_key_vault", output, StringComparison.Ordinal);
            Assert.Contains("unreachable", output, StringComparison.Ordinal);
            Assert.DoesNotContain(FakeAzureKeyVault.ClientSecret, output, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public async Task BrokerProcess_AzureKeyVaultBehindAnHttpsProxy_ProviderGetsTheVaultsSecret()
    {
        await using var upstream = await FakeUpstream.StartOpenAiAsync();
        await using var azure = await FakeAzureKeyVault.StartAsync();
        azure.Secrets["UPSTREAM-KEY"] = "sk-from-key-vault-1212";
        var ca = azure.WriteCaPem(Path.Combine(Path.GetTempPath(), $"broker-ca-{Guid.NewGuid():N}.pem"));
        var config = Path.Combine(Path.GetTempPath(), $"broker-kv-{Guid.NewGuid():N}.yaml");
        await File.WriteAllTextAsync(config, Yaml(upstream.BaseUrl, "  key_management_system: azure_key_vault")
            .Replace("os.environ/UPSTREAM_KEY", "os.environ/UPSTREAM-KEY", StringComparison.Ordinal));
        var port = BrokerProcessTests.FreePort();
        var (process, log, store) = BrokerProcessTests.StartBroker(port, AzureEnv(azure, ca, FakeAzureKeyVault.ClientSecret), config);
        using var _ = process;
        try
        {
            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}/"), Timeout = TimeSpan.FromSeconds(30) };
            await WaitReadyAsync(http, process, log);

            var response = await http.PostAsJsonAsync("v1/chat/completions",
                new { model = "gpt-4o", messages = new[] { new { role = "user", content = "hi" } } });

            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("Bearer sk-from-key-vault-1212", Assert.Single(upstream.Requests).Headers.GetValueOrDefault("authorization"));
            Assert.Contains($"{FakeAzureKeyVault.VaultHost}:443", azure.Tunnels);
            Assert.Contains("login.microsoftonline.com:443", azure.Tunnels);
            Assert.Contains(azure.Requests, r => r.Path == $"/{FakeAzureKeyVault.TenantId}/oauth2/v2.0/token");
            Assert.Contains(azure.Requests, r => r.Path == "/secrets/UPSTREAM-KEY"
                && r.Headers.GetValueOrDefault("authorization") == "Bearer " + azure.AccessToken);
        }
        finally
        {
            await StopAsync(process);
            foreach (var file in new[] { ca, config, store, store + "-wal", store + "-shm" })
            {
                File.Delete(file);
            }
        }
    }

    [Fact]
    public async Task BrokerProcess_AzureCredentialsRefused_CheckConfigNamesTheManagerAndTheVariableNotTheSecret()
    {
        await using var azure = await FakeAzureKeyVault.StartAsync();
        azure.Secrets["UPSTREAM-KEY"] = "sk-never-read";
        var ca = azure.WriteCaPem(Path.Combine(Path.GetTempPath(), $"broker-ca-{Guid.NewGuid():N}.pem"));
        var config = Path.Combine(Path.GetTempPath(), $"broker-kv-{Guid.NewGuid():N}.yaml");
        await File.WriteAllTextAsync(config, Yaml("http://127.0.0.1:9", "  key_management_system: azure_key_vault")
            .Replace("os.environ/UPSTREAM_KEY", "os.environ/UPSTREAM-KEY", StringComparison.Ordinal));
        var (process, log, store) = BrokerProcessTests.StartBroker(["check-config", "--config", config], AzureEnv(azure, ca, "wrong-client-secret"));
        using var _ = process;
        try
        {
            using var exited = new CancellationTokenSource(TimeSpan.FromSeconds(90));
            await process.WaitForExitAsync(exited.Token);
            process.WaitForExit();

            var text = log.ToString();
            Assert.Equal(1, process.ExitCode);
            Assert.Contains("cannot read UPSTREAM-KEY (os.environ/UPSTREAM-KEY) from azure_key_vault", text, StringComparison.Ordinal);
            Assert.Contains("could not get a token", text, StringComparison.Ordinal);
            Assert.DoesNotContain("wrong-client-secret", text, StringComparison.Ordinal);
            Assert.DoesNotContain("sk-never-read", text, StringComparison.Ordinal);
        }
        finally
        {
            await StopAsync(process);
            foreach (var file in new[] { ca, config, store })
            {
                File.Delete(file);
            }
        }
    }

    /// <summary>
    /// What an operator behind a TLS-inspecting proxy sets: HTTPS_PROXY, the proxy's CA as the trusted roots
    /// (SSL_CERT_FILE, read by OpenSSL for .NET on Linux), NO_PROXY for local services; and Azure's usual variables.
    /// </summary>
    private static Dictionary<string, string> AzureEnv(FakeAzureKeyVault azure, string caFile, string clientSecret) => new()
    {
        ["HTTPS_PROXY"] = azure.ProxyUrl,
        ["NO_PROXY"] = "127.0.0.1,localhost",
        ["SSL_CERT_FILE"] = caFile,
        ["AZURE_KEY_VAULT_URI"] = FakeAzureKeyVault.VaultUri,
        ["AZURE_CLIENT_ID"] = FakeAzureKeyVault.ClientId,
        ["AZURE_CLIENT_SECRET"] = clientSecret,
        ["AZURE_TENANT_ID"] = FakeAzureKeyVault.TenantId,
    };

    private static async Task WaitReadyAsync(HttpClient http, Process process, StringBuilder log)
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                if ((await http.GetAsync("health/readiness")).IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
            }

            lock (log)
            {
                Assert.False(process.HasExited, "broker exited early:\n" + log);
                Assert.True(deadline.Elapsed < TimeSpan.FromSeconds(90), "broker not ready within 90 s:\n" + log);
            }

            await Task.Delay(200);
        }
    }

    private static async Task StopAsync(Process process)
    {
        if (!process.HasExited)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }
    }

    [Fact]
    public async Task CheckConfig_ManagerUnreachable_ErrorNamesTheManagerAndTheVariable()
    {
        var path = Path.Combine(Path.GetTempPath(), $"broker-kms-{Guid.NewGuid():N}.yaml");
        await File.WriteAllTextAsync(path, Yaml("http://127.0.0.1:9", "  key_management_system: hashicorp_vault"));
        try
        {
            using var stdout = new StringWriter();
            using var stderr = new StringWriter();
            var env = new Dictionary<string, string> { ["HCP_VAULT_ADDR"] = "http://127.0.0.1:9", ["HCP_VAULT_TOKEN"] = "t" };
            var code = await BrokerCli.InvokeAsync(["check-config", "--config", path], stdout, stderr, n => env.GetValueOrDefault(n));

            Assert.Equal(1, code);
            var output = stdout.ToString();
            Assert.Contains("cannot read UPSTREAM_KEY (os.environ/UPSTREAM_KEY) from hashicorp_vault", output, StringComparison.Ordinal);
            Assert.Contains("unreachable", output, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public async Task Lookup_AfterTheRefreshInterval_ReadsTheManagerAgain()
    {
        await using var vault = await FakeSecretManager.StartAsync();
        vault.Secrets["UPSTREAM_KEY"] = "sk-old-6666";
        var path = Path.Combine(Path.GetTempPath(), $"broker-kms-{Guid.NewGuid():N}.yaml");
        await File.WriteAllTextAsync(path, Yaml("http://127.0.0.1:9", """
              key_management_system: hashicorp_vault
              key_management_settings:
                refresh_interval: 60
            """));
        var time = new FakeTimeProvider(DateTimeOffset.Parse("2026-12-03T12:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
        var env = new Dictionary<string, string> { ["HCP_VAULT_ADDR"] = vault.BaseUrl, ["HCP_VAULT_TOKEN"] = vault.VaultToken };
        try
        {
            var loaded = await SecretConfigLoader.LoadFileAsync(path, n => env.GetValueOrDefault(n), CancellationToken.None, time: time);
            Assert.True(loaded.IsUsable, string.Join("\n", loaded.Diagnostics));
            var lookup = loaded.GetEnvironmentVariable!;
            vault.Secrets["UPSTREAM_KEY"] = "sk-new-7777";

            time.Advance(TimeSpan.FromSeconds(30));
            Assert.Equal("sk-old-6666", lookup("UPSTREAM_KEY"));
            time.Advance(TimeSpan.FromSeconds(31));
            var deadline = DateTime.UtcNow.AddSeconds(20);
            while (lookup("UPSTREAM_KEY") != "sk-new-7777" && DateTime.UtcNow < deadline)
            {
                await Task.Delay(50);
            }

            Assert.Equal("sk-new-7777", lookup("UPSTREAM_KEY"));
            Assert.Equal(2, vault.Requests.Count(r => r.Path == "/v1/secret/data/UPSTREAM_KEY"));
        }
        finally
        {
            File.Delete(path);
        }
    }

    private static Dictionary<string, string> AwsEnv(FakeSecretManager fake) => new()
    {
        ["AWS_ENDPOINT_URL"] = fake.BaseUrl,
        ["AWS_REGION_NAME"] = "us-east-1",
        ["AWS_ACCESS_KEY_ID"] = fake.AwsAccessKeyId,
        ["AWS_SECRET_ACCESS_KEY"] = "fake-secret",
    };
}
