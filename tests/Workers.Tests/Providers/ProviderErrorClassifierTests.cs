using System.Net.Http.Headers;
using Broker.Contracts.Inference;
using Broker.Workers.Providers;

namespace Broker.Workers.Tests.Providers;

public sealed class ProviderErrorClassifierTests
{
    [Theory]
    [InlineData(401, """{"error":{"message":"Incorrect API key","type":"invalid_request_error","code":"invalid_api_key"}}""", ProviderErrorClass.Authentication, 401)]
    [InlineData(403, """{"type":"error","error":{"type":"permission_error","message":"no access"}}""", ProviderErrorClass.Authentication, 403)]
    [InlineData(400, """{"error":{"message":"This model's maximum context length is 8192 tokens","code":"context_length_exceeded"}}""", ProviderErrorClass.ContextWindowExceeded, 400)]
    [InlineData(400, """{"type":"error","error":{"type":"invalid_request_error","message":"prompt is too long: 210000 tokens > 200000 maximum"}}""", ProviderErrorClass.ContextWindowExceeded, 400)]
    [InlineData(400, """{"error":{"message":"The response was filtered due to the prompt triggering Azure OpenAI's content management policy","code":"content_filter"}}""", ProviderErrorClass.ContentPolicyViolation, 400)]
    [InlineData(400, """{"error":{"message":"Unrecognized request argument supplied: foo"}}""", ProviderErrorClass.BadRequest, 400)]
    [InlineData(404, """{"error":{"message":"The model does not exist"}}""", ProviderErrorClass.NotFound, 404)]
    [InlineData(408, "timeout", ProviderErrorClass.Timeout, 408)]
    [InlineData(500, """{"error":{"message":"internal"}}""", ProviderErrorClass.InternalServerError, 500)]
    [InlineData(529, """{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}""", ProviderErrorClass.InternalServerError, 503)]
    public void FromHttp_StatusAndBody_ClassifiesAsRetryPolicyNames(int status, string body, ProviderErrorClass expected, int clientStatus)
    {
        var error = ProviderErrorClassifier.FromHttp("openai", status, body, null);

        Assert.Equal(expected, error.Class);
        Assert.Equal(clientStatus, error.StatusCode);
        Assert.False(string.IsNullOrWhiteSpace(error.Message));
    }

    [Fact]
    public void FromHttp_RateLimitWithRetryAfter_CarriesSeconds()
    {
        using var response = new HttpResponseMessage(System.Net.HttpStatusCode.TooManyRequests);
        response.Headers.RetryAfter = new RetryConditionHeaderValue(TimeSpan.FromSeconds(12));

        var error = ProviderErrorClassifier.FromHttp("openai", 429, """{"error":{"message":"Rate limit reached"}}""", response.Headers);

        Assert.Equal(ProviderErrorClass.RateLimit, error.Class);
        Assert.Equal(12, error.RetryAfterSeconds);
        Assert.Equal("Rate limit reached", error.Message);
        Assert.Equal("rate_limit_error", error.Type);
    }

    [Fact]
    public void FromHttp_NonJsonBody_UsesBodyAsMessage()
    {
        var error = ProviderErrorClassifier.FromHttp("groq", 502, "<html>Bad gateway</html>", null);

        Assert.Equal(ProviderErrorClass.InternalServerError, error.Class);
        Assert.Equal("<html>Bad gateway</html>", error.Message);
    }
}
