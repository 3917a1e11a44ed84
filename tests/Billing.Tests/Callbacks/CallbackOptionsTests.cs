using Broker.Billing.Callbacks;
using Broker.Config.Loading;

namespace Broker.Billing.Tests.Callbacks;

public sealed class CallbackOptionsTests
{
    [Theory]
    [InlineData("litellm_settings: {success_callback: [langfuse]}", true)]
    [InlineData("litellm_settings: {failure_callback: [sentry]}", true)]
    [InlineData("litellm_settings: {callbacks: [otel]}", false)]
    [InlineData("litellm_settings: {success_callback: [prometheus], callbacks: [otel]}", false)]
    [InlineData("litellm_settings: {success_callback: [my_logger]}\ncallback_settings: {my_logger: {callback_type: generic_api, endpoint: http://127.0.0.1:9/log}}", true)]
    [InlineData("litellm_settings: {}", false)]
    public void DeliversAny_CallbackNames_OnlyWhenOneReceivesFinishedRequests(string yaml, bool expected)
    {
        var loaded = ProxyConfigLoader.LoadText("model_list: [{model_name: a, litellm_params: {model: gpt-4o}}]\n" + yaml, "config.yaml", _ => null);
        Assert.True(loaded.IsUsable, string.Join("\n", loaded.Errors));
        Assert.Equal(expected, CallbackOptions.From(loaded.Config!.LitellmSettings).DeliversAny);
    }
}
