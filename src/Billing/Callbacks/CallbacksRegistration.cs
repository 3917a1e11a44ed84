using Broker.Config;
using Broker.Config.Model;
using Broker.ServiceDefaults.Bus;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;

namespace Broker.Billing.Callbacks;

public static class CallbacksRegistration
{
    /// <summary>
    /// litellm_settings success/failure callbacks (langfuse, datadog, sentry, openmeter, s3, langsmith, generic APIs) in
    /// the Billing role, on their own endpoint only when <paramref name="config"/> names one. Call after <c>AddAlerting</c>.
    /// </summary>
    public static IHostApplicationBuilder AddCallbacks(this IHostApplicationBuilder builder, ProxyConfig config)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(config);
        // read once at start (callbacks need a restart to change): what is registered here is what runs
        var callbacks = CallbackOptions.From(config.LitellmSettings);
        builder.Services.TryAddSingleton(callbacks);
        builder.Services.TryAddSingleton(sp => ActivatorUtilities.CreateInstance<CallbackSinks>(sp, sp.GetRequiredService<IProxyConfigProvider>().Current));
        builder.Services.AddCallbackSink("langfuse", "LANGFUSE_PUBLIC_KEY, LANGFUSE_SECRET_KEY", LangfuseSink.Create);
        builder.Services.AddCallbackSink("datadog", "DD_API_KEY", DatadogSink.Create);
        builder.Services.AddCallbackSink("sentry", "SENTRY_DSN", SentrySink.Create);
        builder.Services.AddCallbackSink("openmeter", "OPENMETER_API_KEY", OpenMeterSink.Create);
        builder.Services.AddCallbackSink("s3", "litellm_settings.s3_callback_params.s3_bucket_name", S3Sink.Create);
        builder.Services.AddCallbackSink("langsmith", "LANGSMITH_API_KEY", LangSmithSink.Create);
        builder.Services.AddCallbackSink("generic", "GENERIC_LOGGER_ENDPOINT", c => GenericApiSink.FromEnvironment("generic", c));
        builder.Services.AddCallbackSink("generic_api", "GENERIC_LOGGER_ENDPOINT", c => GenericApiSink.FromEnvironment("generic_api", c));
        if (callbacks.DeliversAny)
        {
            builder.AddBusContribution(new CallbacksBusContribution());
        }
        else
        {
            builder.Services.AddRetiredQueue(UsageCallbacksConsumerDefinition.QueueName, "no callback that receives finished requests is configured");
        }

        return builder;
    }

    private sealed class CallbacksBusContribution : IBusContribution
    {
        public void AddConsumers(IBusRegistrationConfigurator configurator) =>
            configurator.AddConsumer<UsageCallbacksConsumer, UsageCallbacksConsumerDefinition>();

        public void ConfigureEndpoints(IBusRegistrationContext context, IBusFactoryConfigurator configurator)
        {
        }
    }
}
