using Broker.Billing.Callbacks;
using Broker.Config.Model;
using Broker.Host.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace Broker.Host.Tests.Callbacks;

/// <summary>The callback names config.yaml's loader knows and the sinks Billing registers are the same list.</summary>
public sealed class CallbackRegistryTests
{
    [Fact]
    public async Task Registrations_DeliveredNames_MatchConfigCatalog()
    {
        await using var broker = await BrokerRunner.StartEmbeddedAsync("""
            model_list:
              - model_name: m
                litellm_params: {model: openai/m, api_key: sk-x}
            """);

        var registered = broker.Hosts[0].Services.GetServices<CallbackSinkRegistration>().Select(r => r.Name).Order(StringComparer.Ordinal).ToList();
        var delivered = CallbackNames.Known.Where(k => k.Value == CallbackKind.Delivered).Select(k => k.Key).Order(StringComparer.Ordinal).ToList();

        Assert.Equal(delivered, registered);
    }
}

/// <summary>The alert kinds Billing raises are the ones config.yaml's loader accepts without a warning.</summary>
public sealed class AlertKindCatalogTests
{
    [Fact]
    public void AlertKinds_RaisedByBilling_MatchConfigCatalog()
    {
        var billing = typeof(Broker.Billing.Alerts.AlertKinds)
            .GetFields(System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.Static)
            .Where(f => f.IsLiteral && f.FieldType == typeof(string))
            .Select(f => (string)f.GetRawConstantValue()!)
            .Order(StringComparer.Ordinal);

        Assert.Equal(AlertTypeNames.Raised, billing);
    }
}
