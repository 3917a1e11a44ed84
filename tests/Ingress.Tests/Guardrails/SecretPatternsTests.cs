using Broker.Ingress.Guardrails.BuiltIn;

namespace Broker.Ingress.Tests.Guardrails;

/// <summary>hide_secrets' pattern set: one true positive per data-file entry, and ordinary text that must stay as it is.</summary>
public sealed class SecretPatternsTests
{
    private static readonly string[] Covered = ["aws_access_key_id", "aws_secret_access_key", "aws_session_token", "gcp_api_key", "gcp_oauth_client_secret", "gcp_access_token", "gcp_service_account_key", "azure_storage_account_key", "azure_sas_signature", "azure_ad_client_secret", "github_token", "github_fine_grained_token", "gitlab_token", "slack_token", "slack_app_token", "slack_webhook", "stripe_key", "stripe_webhook_secret", "anthropic_key", "openai_key", "openai_project_key", "sk_prefixed_key", "huggingface_token", "npm_token", "pypi_token", "sendgrid_key", "twilio_key", "mailgun_key", "digitalocean_token", "shopify_token", "telegram_bot_token", "databricks_token", "jwt", "private_key", "private_key_header", "password_in_url", "password_assignment", "secret_assignment", "bearer_token"];

    [Theory]
    [InlineData("aws_access_key_id", "key AKIAQWERTYUIOPASDFGH here", "AKIAQWERTYUIOPASDFGH")]
    [InlineData("aws_secret_access_key", "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")]
    [InlineData("aws_session_token", "AWS_SESSION_TOKEN=FQoGZXIvYXdzEJra1B2c3D4a1B2c3D4a1B2c3D4a1B2c3D4a1B2c3D4a1B2c3D4a1B2c3D4a1B2c3D4a1B2c3D4a1B2c3D4a1B2c3D4a1B2c3D4a1B2c3D4a1B2c3D4", "FQoGZXIvYXdzEJr")]
    [InlineData("gcp_api_key", "maps key AIzaSyD-1234567890abcdefghijklmnopqrstu ok", "AIzaSyD-1234567890abcdefghijklmnopqrstu")]
    [InlineData("gcp_oauth_client_secret", "GOCSPX-abcdefghijklmnopqrstuvwxyz12", "GOCSPX-abcdefghijklmnopqrstuvwxyz12")]
    [InlineData("gcp_access_token", "token ya29.a0AfH6SMBx1234567890abcdefg", "ya29.a0AfH6SMBx1234567890abcdefg")]
    [InlineData("gcp_service_account_key", "{\"private_key_id\": \"0123456789abcdef0123456789abcdef01234567\"}", "0123456789abcdef0123456789abcdef01234567")]
    [InlineData("azure_storage_account_key", "DefaultEndpointsProtocol=https;AccountName=x;AccountKey=abcDEF1234abcDEF1234abcDEF1234abcDEF1234abcDEF1234abcDEF1234abcDEF1234abcDEF1234abcDEF==;EndpointSuffix=core.windows.net", "abcDEF1234abcDEF1234abcDEF1234abcDEF1234abcDEF1234abcDEF1234abcDEF1234abcDEF1234abcDEF")]
    [InlineData("azure_sas_signature", "https://x.blob.core.windows.net/c?sv=2022-11-02&sig=AbCdEf0123456789AbCdEf0123456789AbCd%3D", "AbCdEf0123456789AbCdEf0123456789AbCd%3D")]
    [InlineData("azure_ad_client_secret", "AZURE_CLIENT_SECRET abc8Q~Abcdefghijklmnopqrstuvwxyz01234567", "abc8Q~Abcdefghijklmnopqrstuvwxyz01234567")]
    [InlineData("github_token", "use ghp_0123456789abcdefghijABCDEFGHIJ012345 now", "ghp_0123456789abcdefghijABCDEFGHIJ012345")]
    [InlineData("github_fine_grained_token", "github_pat_11ABCDEFG011ABCDEFG011ABCDEFG011ABCDEFG011ABCDEFG011ABCDEFG011ABCDEFG011ABCDEFG0ab", "github_pat_11ABCDEFG0")]
    [InlineData("gitlab_token", "glpat-abcdefghij0123456789", "glpat-abcdefghij0123456789")]
    [InlineData("slack_token", "xoxb-1234567890-abcdefghij", "xoxb-1234567890-abcdefghij")]
    [InlineData("slack_app_token", "xapp-1-A0123456789-1234567890123-abcdef0123456789abcdef0123456789", "xapp-1-A0123456789")]
    [InlineData("slack_webhook", "post to https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX", "T00000000/B00000000")]
    [InlineData("stripe_key", "sk_live_abcdefghijklmnopqrstuvwx", "sk_live_abcdefghijklmnopqrstuvwx")]
    [InlineData("stripe_webhook_secret", "whsec_abcdefghijklmnopqrstuvwxyz012345", "whsec_abcdefghijklmnopqrstuvwxyz012345")]
    [InlineData("anthropic_key", "sk-ant-api03-abcdefghijklmnopqrstuvwxyz0123456789ABCD", "sk-ant-api03-abcdefghij")]
    [InlineData("openai_key", "sk-proj-abcdefghijklmnopqrstT3BlbkFJabcdefghijklmnopqrst", "T3BlbkFJ")]
    [InlineData("openai_project_key", "sk-svcacct-aB3dE6gH9jaB3dE6gH9jaB3dE6gH9jaB3dE6gH9jaB3dE6gH9j", "sk-svcacct-aB3d")]
    [InlineData("sk_prefixed_key", "Bearer key sk-abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMN", "sk-abcdefghijklmnopqrstuvwxyz")]
    [InlineData("huggingface_token", "hf_abcdefghijklmnopqrstuvwxyzABCDEFGH", "hf_abcdefghijklmnopqrstuvwxyzABCDEFGH")]
    [InlineData("npm_token", "//registry.npmjs.org/:_authToken=npm_abcdefghijklmnopqrstuvwxyz0123456789", "npm_abcdefghijklmnopqrstuvwxyz0123456789")]
    [InlineData("pypi_token", "pypi-AgEIcHlwaS5vcmcAb1_Ab1_Ab1_Ab1_Ab1_Ab1_Ab1_Ab1_Ab1_Ab1_Ab1_Ab1_Ab1_Ab1_", "pypi-AgEIcHlwaS5vcmcAb1_")]
    [InlineData("sendgrid_key", "SG.abcdefghijklmnopqrstuv.abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG", "SG.abcdefghijklmnopqrstuv")]
    [InlineData("twilio_key", "SK0123456789abcdef0123456789abcdef", "SK0123456789abcdef0123456789abcdef")]
    [InlineData("mailgun_key", "key-0123456789abcdefghijABCDEFGHIJ01", "key-0123456789abcdefghijABCDEFGHIJ01")]
    [InlineData("digitalocean_token", "dop_v1_0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", "dop_v1_0123456789abcdef")]
    [InlineData("shopify_token", "shpat_0123456789abcdef0123456789abcdef", "shpat_0123456789abcdef0123456789abcdef")]
    [InlineData("telegram_bot_token", "bot 123456789:AAabcdefghijklmnopqrstuvwxyz0123456 ok", "123456789:AAabcdefghijklmnopqrstuvwxyz0123456")]
    [InlineData("databricks_token", "dapi0123456789abcdef0123456789abcdef", "dapi0123456789abcdef0123456789abcdef")]
    [InlineData("jwt", "cookie eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U", "eyJzdWIiOiIxMjM0NTY3ODkwIn0")]
    [InlineData("private_key", "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAabc\n-----END RSA PRIVATE KEY-----", "MIIEowIBAAKCAQEAabc")]
    [InlineData("private_key_header", "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA", "b3BlbnNzaC1rZXktdjEAAAAA")]
    [InlineData("password_in_url", "DATABASE_URL=postgres://app:s3cretPass@db:5432/x", "s3cretPass")]
    [InlineData("password_assignment", "password=Tr0ub4dor&3", "Tr0ub4dor&3")]
    [InlineData("secret_assignment", "client_secret: 9f8Kq2LmZx7Vb4Nw1Rt6Yp3Hs", "9f8Kq2LmZx7Vb4Nw1Rt6Yp3Hs")]
    [InlineData("bearer_token", "Authorization: Bearer abcdef0123456789ABCDEFxyz", "abcdef0123456789ABCDEFxyz")]
    public void Mask_KnownSecretFormat_ReplacedWithItsId(string id, string text, string secret)
    {
        var masked = SecretPatterns.Default.Mask(text);

        Assert.Contains($"[REDACTED:{id}]", masked, StringComparison.Ordinal);
        Assert.DoesNotContain(secret, masked, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("The password is required to log in.")]
    [InlineData("commit 3f786850e387550fdab836ed7e6dc881de23001b fixed it")]
    [InlineData("request id 123e4567-e89b-12d3-a456-426614174000")]
    [InlineData("my token: hello")]
    [InlineData("api_key = aaaaaaaaaaaaaaaaaaaaaaaa")]
    [InlineData("tokens: 1234567890123456 were used")]
    [InlineData("sk-short and ghp_short and xoxb- and AKIA alone")]
    [InlineData("skills-and-abilities-for-everyone-in-the-team-here")]
    [InlineData("eyJ is how base64 JSON starts")]
    [InlineData("see https://user@example.com/path?sig=short")]
    [InlineData("-----BEGIN PUBLIC KEY----- is not secret")]
    [InlineData("Author: Jane Q. Public, published 2024-05-01")]
    public void Mask_OrdinaryText_Unchanged(string text)
    {
        Assert.Same(text, SecretPatterns.Default.Mask(text));
    }

    [Fact]
    public void Patterns_EveryDataFileEntry_HasATruePositiveSample()
    {
        Assert.Equal(SecretPatterns.Default.Patterns.Select(p => p.Id).Order(StringComparer.Ordinal), Covered.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Mask_SeveralSecretsInOneText_MasksEachOnce()
    {
        var masked = SecretPatterns.Default.Mask("a AKIAQWERTYUIOPASDFGH b ghp_0123456789abcdefghijABCDEFGHIJ012345 c");

        Assert.Equal("a [REDACTED:aws_access_key_id] b [REDACTED:github_token] c", masked);
    }
}
