using Microsoft.ML.Tokenizers;

namespace Broker.ServiceDefaults.Tokens;

/// <summary>
/// Counts tokens with a real BPE tokenizer (o200k_base, GPT-4o's) in time linear in the input and under a
/// <see cref="CancellationToken"/>. The tokenizer's merge step is quadratic in the length of one pre-token (a run of
/// letters, CJK or punctuation without whitespace), so the text is fed to it in pieces of at most
/// <see cref="PieceChars"/> characters, cut at a word boundary where there is one (the count differs from a single call
/// by well under 1%). Only the first <see cref="MaxCountedChars"/> characters of all text added are tokenized; the rest
/// is estimated at 4 characters a token.
/// </summary>
public sealed class TokenTally(CancellationToken cancellationToken)
{
    /// <summary>Characters tokenized per tally; beyond them a token is estimated per 4 characters.</summary>
    public const int MaxCountedChars = 500_000;

    /// <summary>The longest piece handed to the tokenizer in one call.</summary>
    public const int PieceChars = 256;

    private static readonly Lazy<Tokenizer> Tokenizer = new(() => TiktokenTokenizer.CreateForModel("gpt-4o"));

    private long _counted;
    private long _estimatedChars;
    private long _tokens;

    /// <summary>Tokens of everything added so far.</summary>
    public int Total => (int)Math.Min(int.MaxValue, _tokens + ((_estimatedChars + 3) / 4));

    /// <summary>Tokenizer calls made so far (each over at most <see cref="PieceChars"/> characters).</summary>
    public int Calls { get; private set; }

    /// <summary>Tokens of one text.</summary>
    public static int Count(string? text, CancellationToken cancellationToken) => new TokenTally(cancellationToken).Add(text).Total;

    /// <summary>Adds a fixed number of tokens (per-message overheads).</summary>
    public TokenTally AddTokens(int tokens)
    {
        _tokens += tokens;
        return this;
    }

    /// <summary>Adds the tokens of <paramref name="text"/>; throws <see cref="OperationCanceledException"/> once cancelled.</summary>
    public TokenTally Add(ReadOnlySpan<char> text)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var budget = (int)Math.Max(0, Math.Min(text.Length, MaxCountedChars - _counted));
        _estimatedChars += text.Length - budget;
        text = text[..budget];
        _counted += budget;
        var tokenizer = Tokenizer.Value;
        while (!text.IsEmpty)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var length = PieceLength(text);
            _tokens += tokenizer.CountTokens(text[..length]);
            Calls++;
            text = text[length..];
        }

        return this;
    }

    /// <summary>
    /// The length of the next piece: all of <paramref name="text"/> when short, else up to the last whitespace that
    /// follows a non-whitespace character within the window (so a word keeps its leading space), else the window
    /// (never splitting a surrogate pair).
    /// </summary>
    internal static int PieceLength(ReadOnlySpan<char> text)
    {
        if (text.Length <= PieceChars)
        {
            return text.Length;
        }

        for (var cut = PieceChars; cut > PieceChars / 2; cut--)
        {
            if (char.IsWhiteSpace(text[cut]) && !char.IsWhiteSpace(text[cut - 1]))
            {
                return cut;
            }
        }

        return char.IsLowSurrogate(text[PieceChars]) && char.IsHighSurrogate(text[PieceChars - 1]) ? PieceChars - 1 : PieceChars;
    }
}
