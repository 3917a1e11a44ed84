using System.Text.Json;

namespace Broker.Config.Pricing;

/// <summary>
/// The built-in prices of common models (<c>Pricing/model_prices.json</c>, embedded): looked up by the provider's
/// model name, exactly or by the longest entry it starts with (so dated versions such as
/// <c>claude-3-5-sonnet-20240620</c> find <c>claude-3-5-sonnet</c>).
/// </summary>
public sealed class PriceTable
{
    private readonly Dictionary<string, ModelPrice> _prices;
    private readonly string[] _byLengthDescending;

    public PriceTable(IReadOnlyDictionary<string, ModelPrice> prices)
    {
        ArgumentNullException.ThrowIfNull(prices);
        _prices = new Dictionary<string, ModelPrice>(prices, StringComparer.OrdinalIgnoreCase);
        _byLengthDescending = [.. _prices.Keys.OrderByDescending(k => k.Length)];
    }

    /// <summary>The embedded table.</summary>
    public static PriceTable BuiltIn { get; } = LoadEmbedded();

    public int Count => _prices.Count;

    /// <summary>The price of a model name such as <c>gpt-4o-2024-08-06</c>, <c>anthropic/claude-3-5-sonnet-latest</c>,
    /// <c>anthropic.claude-3-5-sonnet-20240620-v1:0</c> or <c>models/gemini-2.0-flash</c>; null when unknown.</summary>
    public ModelPrice? Find(string? model)
    {
        if (string.IsNullOrWhiteSpace(model))
        {
            return null;
        }

        foreach (var candidate in Candidates(model.Trim()))
        {
            if (_prices.TryGetValue(candidate, out var exact))
            {
                return exact;
            }

            foreach (var key in _byLengthDescending)
            {
                if (candidate.StartsWith(key, StringComparison.OrdinalIgnoreCase) && IsBoundary(candidate, key.Length))
                {
                    return _prices[key];
                }
            }
        }

        return null;
    }

    public static PriceTable Parse(string json)
    {
        using var document = JsonDocument.Parse(json);
        var prices = new Dictionary<string, ModelPrice>(StringComparer.OrdinalIgnoreCase);
        foreach (var entry in document.RootElement.EnumerateObject())
        {
            if (entry.Value.ValueKind != JsonValueKind.Object)
            {
                continue; // "_comment"
            }

            prices[entry.Name] = new ModelPrice(
                Decimal(entry.Value, "input_cost_per_token") ?? 0,
                Decimal(entry.Value, "output_cost_per_token") ?? 0,
                Decimal(entry.Value, "cache_read_input_token_cost"));
        }

        return new PriceTable(prices);
    }

    private static IEnumerable<string> Candidates(string model)
    {
        yield return model;
        var slash = model.LastIndexOf('/');
        var name = slash >= 0 ? model[(slash + 1)..] : model;
        if (slash >= 0)
        {
            yield return name;
        }

        // Bedrock ids: vendor.model-version (anthropic.claude-3-5-sonnet-20240620-v1:0, us.anthropic....)
        var dot = name.LastIndexOf('.');
        if (dot > 0 && !char.IsDigit(name[dot - 1]) && dot + 1 < name.Length && char.IsLetter(name[dot + 1]))
        {
            yield return name[(dot + 1)..];
        }

        // "claude-3.5-sonnet" written with a dot
        if (name.Contains("claude-3.", StringComparison.OrdinalIgnoreCase))
        {
            yield return name.Replace("claude-3.", "claude-3-", StringComparison.OrdinalIgnoreCase);
        }
    }

    /// <summary>A prefix counts only at a word boundary: "gpt-4o" for "gpt-4o-2024-08-06", not "gpt-4" for "gpt-4o".</summary>
    private static bool IsBoundary(string candidate, int length) =>
        length == candidate.Length || candidate[length] is '-' or '@' or ':' or '_';

    private static decimal? Decimal(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Number ? value.GetDecimal() : null;

    private static PriceTable LoadEmbedded()
    {
        using var stream = typeof(PriceTable).Assembly.GetManifestResourceStream("Broker.Config.Pricing.model_prices.json")
            ?? throw new InvalidOperationException("the embedded price table Pricing/model_prices.json is missing");
        using var reader = new StreamReader(stream);
        return Parse(reader.ReadToEnd());
    }
}
