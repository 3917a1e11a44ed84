using Broker.ServiceDefaults.Database;

namespace Broker.ServiceDefaults.Tests.Database;

public sealed class PgTextTests
{
    [Fact]
    public void Clean_Text_DropsNulReplacesLoneSurrogates()
    {
        // built in code: a lone surrogate cannot travel through an attribute (stored as UTF-8)
        (string Value, string Expected)[] cases =
        [
            ("plain", "plain"),
            ("a\0b\0", "ab"),
            ("x\ud800y", "x\uFFFDy"),
            ("\udc00", "\uFFFD"),
            ("pair \ud83d\ude00 ok", "pair \ud83d\ude00 ok"),
            ("end \ud83d", "end \uFFFD"),
        ];
        foreach (var (value, expected) in cases)
        {
            Assert.Equal(expected, PgText.Clean(value));
            Assert.True(PgText.IsClean(PgText.Clean(value)!));
        }

        Assert.False(PgText.IsClean("a\0"));
        Assert.False(PgText.IsClean("\ud800"));
    }

    [Fact]
    public void Clean_CleanText_ReturnsSameInstance()
    {
        var text = "nothing to do \ud83d\ude00";
        Assert.Same(text, PgText.Clean(text));
        Assert.Null(PgText.Clean(null));
    }

    [Theory]
    [InlineData("""{"a":"x\u0000y"}""", """{"a":"xy"}""")]
    [InlineData("""{"a":"\ud800"}""", """{"a":"\ufffd"}""")]
    [InlineData("""{"a":"\udc00\u0041"}""", """{"a":"\ufffd\u0041"}""")]
    [InlineData("""{"a":"\ud83d\ude00"}""", """{"a":"\ud83d\ude00"}""")]
    [InlineData("""{"a":"\\u0000 \\\u0000"}""", """{"a":"\\u0000 \\"}""")]
    [InlineData("""{"a":"\n\"q\""}""", """{"a":"\n\"q\""}""")]
    public void CleanJson_Escapes_DropsNulAndLoneSurrogateEscapesOnly(string json, string expected)
    {
        Assert.Equal(expected, PgText.CleanJson(json));
    }
}
