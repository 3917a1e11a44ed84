using System.ComponentModel.DataAnnotations;
using Broker.ServiceDefaults.Options;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Broker.ServiceDefaults.Tests.Options;

public sealed class ValidatedOptionsTests
{
    private sealed class WaitOptions
    {
        [Range(0d, double.MaxValue, MinimumIsExclusive = true, ErrorMessage = "{0} must be more than 0")]
        public double TimeoutSeconds { get; set; } = 5;

        [Range(1, int.MaxValue, ErrorMessage = "{0} must be 1 or more")]
        public int Slots { get; set; } = 4;
    }

    private sealed class CacheLikeOptions
    {
        public double TtlSeconds { get; set; } = 60;
    }

    private static IServiceProvider Build(Dictionary<string, string?> settings)
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Configuration.AddInMemoryCollection(settings);
        builder.AddValidatedOptions<WaitOptions>("Wait");
        builder.AddValidatedOptions<CacheLikeOptions>("CacheLike");
        return builder.Build().Services;
    }

    [Fact]
    public void Check_ValidSettings_BindsThemAndInjectsTheRecord()
    {
        var services = Build(new() { ["Wait:TimeoutSeconds"] = "2.5", ["CacheLike:TtlSeconds"] = "10" });

        ValidatedOptions.Check(services);

        Assert.Equal(2.5, services.GetRequiredService<WaitOptions>().TimeoutSeconds);
        Assert.Equal(4, services.GetRequiredService<WaitOptions>().Slots);
        Assert.Equal(10, services.GetRequiredService<CacheLikeOptions>().TtlSeconds);
    }

    [Fact]
    public void Check_SeveralBadValuesInSeveralSections_NamesEveryOneAtOnce()
    {
        var services = Build(new() { ["Wait:TimeoutSeconds"] = "0", ["Wait:Slots"] = "-3", ["CacheLike:TtlSeconds"] = "soon" });

        var error = Assert.Throws<InvalidHostSettingsException>(() => ValidatedOptions.Check(services));

        Assert.Equal(3, error.Problems.Count);
        Assert.Contains("Wait: TimeoutSeconds must be more than 0", error.Problems);
        Assert.Contains("Wait: Slots must be 1 or more", error.Problems);
        Assert.Contains(error.Problems, p => p.StartsWith("CacheLike: ", StringComparison.Ordinal) && p.Contains("'soon'", StringComparison.Ordinal));
    }
}
