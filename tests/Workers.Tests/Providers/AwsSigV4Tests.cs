using Broker.Workers.Providers.Bedrock;

namespace Broker.Workers.Tests.Providers;

/// <summary>Against the AWS Signature Version 4 test suite (credentials AKIDEXAMPLE, 2015-08-30T12:36:00Z, us-east-1, service "service").</summary>
public sealed class AwsSigV4Tests
{
    private static readonly AwsCredentials Example = new("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY");

    [Theory]
    [InlineData("GET", "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31")]
    [InlineData("POST", "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b")]
    public void Authorization_VanillaSuiteRequest_MatchesPublishedSignature(string method, string signature)
    {
        var header = AwsSigV4.Authorization(method, new Uri("https://example.amazonaws.com/"), [], Example, "us-east-1", "service", "20150830T123600Z");

        Assert.Equal(
            $"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature={signature}",
            header);
    }

    [Fact]
    public void Sign_SessionToken_SignsAndSendsSecurityToken()
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "https://bedrock-runtime.us-east-1.amazonaws.com/model/m/converse");

        AwsSigV4.Sign(request, "{}"u8, Example with { SessionToken = "token-1" }, "us-east-1", "bedrock",
            new DateTimeOffset(2024, 5, 1, 10, 0, 0, TimeSpan.Zero));

        Assert.Equal("20240501T100000Z", request.Headers.GetValues("x-amz-date").Single());
        Assert.Equal("token-1", request.Headers.GetValues("x-amz-security-token").Single());
        Assert.Contains("SignedHeaders=host;x-amz-date;x-amz-security-token,", request.Headers.GetValues("Authorization").Single(), StringComparison.Ordinal);
    }

    [Fact]
    public void CanonicalPath_EscapedModelId_IsEncodedAgain()
    {
        Assert.Equal("/model/anthropic.claude-v2%253A1/converse", AwsSigV4.CanonicalPath("/model/anthropic.claude-v2%3A1/converse"));
    }

    [Fact]
    public void Crc32_CheckString_MatchesStandardCheckValue()
    {
        Assert.Equal(0xCBF43926u, AwsEventStream.Crc32.Compute("123456789"u8));
    }

    [Fact]
    public async Task ReadAsync_CorruptedMessage_ThrowsInvalidData()
    {
        var frame = Broker.TestKit.FakeBedrock.Encode([(":event-type", "messageStart")], """{"role":"assistant"}""");
        frame[^6] ^= 0xFF;
        await using var stream = new MemoryStream(frame);

        await Assert.ThrowsAsync<InvalidDataException>(async () =>
        {
            await foreach (var _ in AwsEventStream.ReadAsync(stream, CancellationToken.None))
            {
            }
        });
    }
}
