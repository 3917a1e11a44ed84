using Broker.Ingress.Keys;

namespace Broker.Ingress.Tests.Keys;

public sealed class DurationTextTests
{
    [Theory]
    [InlineData("30s", 30)]
    [InlineData("30m", 1800)]
    [InlineData("30h", 108000)]
    [InlineData("30d", 2592000)]
    [InlineData("2w", 1209600)]
    [InlineData("1mo", 2592000)]
    [InlineData("45", 45)]
    public void TryParse_LiteLlmDuration_GivesSeconds(string text, double seconds)
    {
        Assert.True(DurationText.TryParse(text, out var duration));
        Assert.Equal(seconds, duration.TotalSeconds);
    }

    [Theory]
    [InlineData("")]
    [InlineData("soon")]
    [InlineData("-3d")]
    public void TryParse_NotADuration_False(string text) => Assert.False(DurationText.TryParse(text, out _));
}
