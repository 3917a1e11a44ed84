using Broker.ServiceDefaults.Options;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Broker.Ingress.PassThrough;

public static class PassThroughRegistration
{
    /// <summary>YARP's forwarder and the pass-through settings (section <c>PassThrough</c>).</summary>
    public static IHostApplicationBuilder AddPassThrough(this IHostApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddHttpForwarder();
        builder.AddValidatedOptions<PassThroughOptions>("PassThrough");
        builder.Services.AddSingleton<PassThroughForwarder>();
        return builder;
    }
}
