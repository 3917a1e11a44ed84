using System.Text;
using System.Text.RegularExpressions;

namespace Broker.Ingress.Guardrails.BuiltIn;

/// <summary>
/// pii_masking's detectors: e-mail addresses, card numbers (13-19 digits passing the Luhn check), IBANs (passing the
/// ISO 13616 mod-97 check) and phone numbers (9-15 digits, international or grouped). Earlier detectors win overlaps.
/// </summary>
public static partial class PiiPatterns
{
    public const string Email = "EMAIL";

    public const string Card = "CREDIT_CARD";

    public const string Iban = "IBAN";

    public const string Phone = "PHONE";

    /// <summary>The personal data in <paramref name="text"/>: (label, start, length), earliest first, without overlaps.</summary>
    public static IReadOnlyList<(string Label, int Start, int Length)> Find(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var found = new List<(string Label, int Start, int Length, int Priority)>();
        foreach (Match m in EmailRegex().Matches(text))
        {
            found.Add((Email, m.Index, m.Length, 0));
        }

        foreach (Match m in IbanRegex().Matches(text))
        {
            if (IsValidIban(m.Value))
            {
                found.Add((Iban, m.Index, m.Length, 1));
            }
        }

        foreach (Match m in CardRegex().Matches(text))
        {
            var digits = Digits(m.Value);
            if (digits.Length is >= 13 and <= 19 && PassesLuhn(digits))
            {
                found.Add((Card, m.Index, m.Length, 2));
            }
        }

        foreach (Match m in PhoneRegex().Matches(text))
        {
            var digits = Digits(m.Value);
            if (digits.Length is >= 9 and <= 15)
            {
                found.Add((Phone, m.Index, m.Length, 3));
            }
        }

        found.Sort((a, b) => a.Priority != b.Priority ? a.Priority.CompareTo(b.Priority) : a.Start.CompareTo(b.Start));
        var kept = new List<(string Label, int Start, int Length)>();
        foreach (var f in found)
        {
            if (!kept.Exists(k => f.Start < k.Start + k.Length && k.Start < f.Start + f.Length))
            {
                kept.Add((f.Label, f.Start, f.Length));
            }
        }

        kept.Sort((a, b) => a.Start.CompareTo(b.Start));
        return kept;
    }

    /// <summary>Luhn (mod 10) check over a string of digits.</summary>
    public static bool PassesLuhn(string digits)
    {
        ArgumentNullException.ThrowIfNull(digits);
        var sum = 0;
        var doubled = false;
        for (var i = digits.Length - 1; i >= 0; i--)
        {
            var d = digits[i] - '0';
            if (d is < 0 or > 9)
            {
                return false;
            }

            if (doubled)
            {
                d *= 2;
                if (d > 9)
                {
                    d -= 9;
                }
            }

            sum += d;
            doubled = !doubled;
        }

        return digits.Length > 0 && sum % 10 == 0;
    }

    /// <summary>ISO 13616 check: country code, check digits, 11-30 alphanumerics; moved and read as digits it is 1 mod 97.</summary>
    public static bool IsValidIban(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        var iban = value.Replace(" ", "", StringComparison.Ordinal).ToUpperInvariant();
        if (iban.Length is < 15 or > 34 || !char.IsAsciiLetter(iban[0]) || !char.IsAsciiLetter(iban[1]) ||
            !char.IsAsciiDigit(iban[2]) || !char.IsAsciiDigit(iban[3]))
        {
            return false;
        }

        var remainder = 0;
        foreach (var c in iban[4..] + iban[..4])
        {
            if (char.IsAsciiDigit(c))
            {
                remainder = ((remainder * 10) + (c - '0')) % 97;
            }
            else if (char.IsAsciiLetterUpper(c))
            {
                var n = c - 'A' + 10;
                remainder = ((remainder * 100) + n) % 97;
            }
            else
            {
                return false;
            }
        }

        return remainder == 1;
    }

    private static string Digits(string value)
    {
        var sb = new StringBuilder(value.Length);
        foreach (var c in value)
        {
            if (char.IsAsciiDigit(c))
            {
                sb.Append(c);
            }
        }

        return sb.ToString();
    }

    [GeneratedRegex(@"(?<![\w.%+\-])[A-Za-z0-9._%+\-]{1,64}@[A-Za-z0-9\-]{1,63}(?:\.[A-Za-z0-9\-]{1,63})*\.[A-Za-z]{2,24}\b", RegexOptions.CultureInvariant, 250)]
    private static partial Regex EmailRegex();

    [GeneratedRegex(@"\b[A-Z]{2}[0-9]{2}(?: ?[A-Z0-9]){11,30}\b", RegexOptions.CultureInvariant, 250)]
    private static partial Regex IbanRegex();

    [GeneratedRegex(@"(?<![\d\-])\d(?:[ \-]?\d){12,18}(?![\d\-])", RegexOptions.CultureInvariant, 250)]
    private static partial Regex CardRegex();

    [GeneratedRegex(@"(?<![\w+])(?:\+\d{1,3}[ .\-]?)?(?:\(\d{1,4}\)[ .\-]?)?\d{2,4}(?:[ .\-]?\d{2,4}){2,4}(?![\w])", RegexOptions.CultureInvariant, 250)]
    private static partial Regex PhoneRegex();
}
