using Broker.Config.Model;

namespace Broker.Config.Tests.Model;

public sealed class LiteLlmDurationTests
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
        Assert.True(LiteLlmDuration.TryParse(text, out var duration));
        Assert.Equal(seconds, duration.Length.TotalSeconds);
    }

    [Theory]
    [InlineData("")]
    [InlineData("soon")]
    [InlineData("-3d")]
    public void TryParse_NotADuration_False(string text) => Assert.False(LiteLlmDuration.TryParse(text, out _));

    [Fact]
    public void After_WholeMonths_CountsCalendarMonths()
    {
        Assert.True(LiteLlmDuration.TryParse("1mo", out var month));
        Assert.Equal(new DateTimeOffset(2026, 2, 28, 0, 0, 0, TimeSpan.Zero), month.After(new DateTimeOffset(2026, 1, 31, 0, 0, 0, TimeSpan.Zero)));
    }
}
