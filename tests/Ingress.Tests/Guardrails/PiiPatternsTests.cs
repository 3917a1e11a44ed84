using Broker.Ingress.Guardrails.BuiltIn;

namespace Broker.Ingress.Tests.Guardrails;

public sealed class PiiPatternsTests
{
    [Theory]
    [InlineData("4111111111111111", true)]
    [InlineData("79927398713", true)]
    [InlineData("5555555555554444", true)]
    [InlineData("4111111111111112", false)]
    [InlineData("1234567812345678", false)]
    public void PassesLuhn_KnownNumbers_MatchesTheCheck(string digits, bool expected)
    {
        Assert.Equal(expected, PiiPatterns.PassesLuhn(digits));
    }

    [Theory]
    [InlineData("DE89 3704 0044 0532 0130 00", true)]
    [InlineData("GB82 WEST 1234 5698 7654 32", true)]
    [InlineData("FR1420041010050500013M02606", true)]
    [InlineData("DE89 3704 0044 0532 0130 01", false)]
    [InlineData("GB82 WEST 1234 5698 7654 33", false)]
    [InlineData("XX00", false)]
    public void IsValidIban_KnownValues_MatchesMod97(string iban, bool expected)
    {
        Assert.Equal(expected, PiiPatterns.IsValidIban(iban));
    }

    [Fact]
    public void Find_MixedText_LabelsEachKindOnce()
    {
        const string text = "mail jane.doe@example.com, card 4111-1111-1111-1111, IBAN GB82 WEST 1234 5698 7654 32, call +1 415 555 0132";

        var found = PiiPatterns.Find(text).Select(f => (f.Label, text.Substring(f.Start, f.Length))).ToList();

        Assert.Equal(
            [
                (PiiPatterns.Email, "jane.doe@example.com"),
                (PiiPatterns.Card, "4111-1111-1111-1111"),
                (PiiPatterns.Iban, "GB82 WEST 1234 5698 7654 32"),
                (PiiPatterns.Phone, "+1 415 555 0132"),
            ],
            found);
    }

    [Theory]
    [InlineData("card 4111 1111 1111 1112 fails Luhn")]
    [InlineData("IBAN DE89 3704 0044 0532 0130 01 fails mod 97")]
    [InlineData("order 12345 shipped on 2024-01-15 at 10:30")]
    [InlineData("version 1.2.3 and user@ alone")]
    public void Find_LookAlikes_NotPersonalData(string text)
    {
        Assert.DoesNotContain(PiiPatterns.Find(text), f => f.Label is PiiPatterns.Card or PiiPatterns.Iban or PiiPatterns.Email);
    }
}
