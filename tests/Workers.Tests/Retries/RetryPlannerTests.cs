using Broker.Config.Loading;
using Broker.Config.Model;
using Broker.Contracts.Inference;
using Broker.Workers.Retries;

namespace Broker.Workers.Tests.Retries;

public sealed class RetryPlannerTests
{
    private static readonly DateTimeOffset Now = new(2025, 1, 1, 12, 0, 0, TimeSpan.Zero);

    private static ProxyConfig Load(string routerSettings) =>
        ProxyConfigLoader.LoadText($"""
            model_list:
              - {"{"}model_name: a, litellm_params: {"{"}model: openai/a, mock_response: x{"}"}, model_info: {"{"}id: a1{"}"}{"}"}
              - {"{"}model_name: a, litellm_params: {"{"}model: openai/a, mock_response: x{"}"}, model_info: {"{"}id: a2{"}"}{"}"}
              - {"{"}model_name: b, litellm_params: {"{"}model: openai/b, mock_response: x{"}"}, model_info: {"{"}id: b1{"}"}{"}"}
              - {"{"}model_name: c, litellm_params: {"{"}model: openai/c, mock_response: x{"}"}, model_info: {"{"}id: c1{"}"}{"}"}
              - {"{"}model_name: d, litellm_params: {"{"}model: openai/d, mock_response: x{"}"}, model_info: {"{"}id: d1{"}"}{"}"}
            router_settings:
            {routerSettings}
            """, "config.yaml", _ => null).Config!;

    private static CreateChatCompletion Command(string group = "a", ChatCompletionRetry? retry = null) => new()
    {
        RequestId = Guid.NewGuid(),
        ModelGroup = group,
        RequestedModel = group,
        Body = """{"model":"a","messages":[]}""",
        Deadline = Now.AddMinutes(1),
        Retry = retry,
    };

    private static InferenceFailed Error(ProviderErrorClass errorClass, int status, string deployment = "a1", double? retryAfter = null) => new()
    {
        RequestId = Guid.Empty,
        StatusCode = status,
        ErrorClass = errorClass,
        Message = "boom",
        Type = "api_error",
        DeploymentId = deployment,
        RetryAfterSeconds = retryAfter,
    };

    [Theory]
    [InlineData(ProviderErrorClass.RateLimit, 3)]
    [InlineData(ProviderErrorClass.Timeout, 3)]
    [InlineData(ProviderErrorClass.InternalServerError, 3)]
    [InlineData(ProviderErrorClass.BadRequest, 0)]
    [InlineData(ProviderErrorClass.Authentication, 0)]
    [InlineData(ProviderErrorClass.ContextWindowExceeded, 0)]
    [InlineData(ProviderErrorClass.ContentPolicyViolation, 0)]
    public void RetriesFor_NoRetryPolicy_NumRetriesForTransientClassesOnly(ProviderErrorClass errorClass, int expected) =>
        Assert.Equal(expected, RetryPlanner.RetriesFor(errorClass, new RouterSettings(), RetryRequestOptions.None));

    [Fact]
    public void RetriesFor_RetryPolicyAndRequestNumRetries_PolicyWinsForItsClass()
    {
        var settings = new RouterSettings { NumRetries = 3, RetryPolicy = new RetryPolicy { BadRequestErrorRetries = 2, RateLimitErrorRetries = 5 } };
        var request = new RetryRequestOptions { NumRetries = 1 };

        Assert.Equal(2, RetryPlanner.RetriesFor(ProviderErrorClass.BadRequest, settings, request));
        Assert.Equal(5, RetryPlanner.RetriesFor(ProviderErrorClass.RateLimit, settings, request));
        Assert.Equal(1, RetryPlanner.RetriesFor(ProviderErrorClass.Timeout, settings, request));
    }

    [Fact]
    public void Decide_RateLimitWithOtherDeploymentFree_RetriesAtOnceAvoidingTheFailedOne()
    {
        var decision = RetryPlanner.Decide(Load("  num_retries: 1"), RetryRequestOptions.None, Command(),
            Error(ProviderErrorClass.RateLimit, 429, retryAfter: 30), fallbackOnly: false, Now);

        Assert.Equal("a", decision.Group!.Name);
        Assert.Null(decision.Next.NotBefore);
        Assert.Equal(["a1"], decision.Next.AvoidDeploymentIds);
        Assert.Equal((1, 1, 0), (decision.Next.Attempt, decision.Next.AttemptedRetries, decision.Next.AttemptedFallbacks));
    }

    [Fact]
    public void Decide_EveryDeploymentFailed_WaitsRetryAfter()
    {
        var state = new ChatCompletionRetry { Attempt = 1, OriginalModelGroup = "a", RetriesInGroup = 1, AttemptedRetries = 1, AvoidDeploymentIds = ["a1"] };
        var decision = RetryPlanner.Decide(Load("  num_retries: 3"), RetryRequestOptions.None, Command(retry: state),
            Error(ProviderErrorClass.RateLimit, 429, deployment: "a2", retryAfter: 2), fallbackOnly: false, Now);

        Assert.Equal(Now.AddSeconds(2), decision.Next.NotBefore);
        Assert.Equal(2, decision.Next.AttemptedRetries);
    }

    [Fact]
    public void Decide_ContextWindowError_TakesContextWindowFallbacks()
    {
        var config = Load("""
              context_window_fallbacks: [{a: [c]}]
              fallbacks: [{a: [b]}]
            """);

        var decision = RetryPlanner.Decide(config, RetryRequestOptions.None, Command(),
            Error(ProviderErrorClass.ContextWindowExceeded, 400), fallbackOnly: false, Now);

        Assert.Equal("c", decision.Group!.Name);
        Assert.True(decision.IsFallback);
    }

    [Fact]
    public void FallbackChain_NoRuleForGroup_DefaultFallbacksCappedAtMaxFallbacks()
    {
        var config = Load("""
              default_fallbacks: [b, c, d]
              max_fallbacks: 2
            """);

        Assert.Equal(["b", "c"], RetryPlanner.FallbackChain(config, RetryRequestOptions.None, "a", ProviderErrorClass.InternalServerError));
    }

    [Fact]
    public void Decide_NothingLeft_FinalErrorNamesEveryAttempt()
    {
        var state = new ChatCompletionRetry
        {
            Attempt = 1, OriginalModelGroup = "a", AttemptedFallbacks = 1, FallbackChain = ["b"], History = ["#1 a/a1: InternalServerError 500"],
        };

        var decision = RetryPlanner.Decide(Load("  num_retries: 0"), RetryRequestOptions.None, Command("b", state),
            Error(ProviderErrorClass.InternalServerError, 502, deployment: "b1"), fallbackOnly: false, Now);

        Assert.True(decision.Exhausted);
        Assert.Equal(502, decision.FinalError!.StatusCode);
        Assert.Contains("#1 a/a1: InternalServerError 500; #2 b/b1: InternalServerError 502", decision.FinalError.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_RequestControls_ReadsListsNumbersAndMockFlag()
    {
        var options = RetryRequestOptions.Parse(
            """{"fallbacks":["b",{"model":"c"}],"context_window_fallbacks":[{"a":["d"]}],"num_retries":2,"mock_testing_fallbacks":true}""", "a");

        Assert.Equal(["b", "c"], options.Fallbacks);
        Assert.Equal(["d"], options.ContextWindowFallbacks);
        Assert.Equal(2, options.NumRetries);
        Assert.True(options.MockTestingFallbacks);
    }

    [Fact]
    public void StepDueAt_DeploymentTimeouts_LongestCallPlusGraceBoundedByRouterTimeoutAndDeadline()
    {
        var config = ProxyConfigLoader.LoadText("""
            model_list:
              - {model_name: g, litellm_params: {model: openai/a, mock_response: x, timeout: 2}, model_info: {id: g1}}
              - {model_name: g, litellm_params: {model: openai/b, mock_response: x, timeout: 5, stream_timeout: 1}, model_info: {id: g2}}
              - {model_name: open, litellm_params: {model: openai/c, mock_response: x}, model_info: {id: o1}}
            router_settings: {timeout: 20}
            """, "config.yaml", _ => null).Config!;
        var g = config.ModelGroups.Single(x => x.Name == "g");
        var open = config.ModelGroups.Single(x => x.Name == "open");
        var farDeadline = Now.AddMinutes(5);

        // the slowest deployment's call, plus the grace
        Assert.Equal(Now + TimeSpan.FromSeconds(5) + RetryPlanner.StepGrace, RetryPlanner.StepDueAt(config, g, null, stream: false, Now, farDeadline));
        // pinned to one deployment: that one's call; a stream: its stream_timeout
        Assert.Equal(Now + TimeSpan.FromSeconds(2) + RetryPlanner.StepGrace, RetryPlanner.StepDueAt(config, g, "g1", stream: false, Now, farDeadline));
        Assert.Equal(Now + TimeSpan.FromSeconds(2) + RetryPlanner.StepGrace, RetryPlanner.StepDueAt(config, g, null, stream: true, Now, farDeadline));
        // no deployment timeout: router_settings.timeout
        Assert.Equal(Now + TimeSpan.FromSeconds(20) + RetryPlanner.StepGrace, RetryPlanner.StepDueAt(config, open, null, stream: false, Now, farDeadline));
        // never past the request's deadline
        Assert.Equal(Now.AddSeconds(4), RetryPlanner.StepDueAt(config, g, null, stream: false, Now, Now.AddSeconds(4)));
    }
}
