using System.Data.Common;
using System.Globalization;
using System.Text.Json;

namespace Broker.ServiceDefaults.Database;

/// <summary>
/// How PostgreSQL's types are kept in SQLite: timestamptz as UTC ISO-8601 text of one fixed width (text order is time
/// order), numeric as invariant decimal text (sums are done in decimal, never floating point), text[] as a JSON array,
/// boolean as 0/1, uuid as text.
/// </summary>
public static class SqliteValues
{
    private const string TimeFormat = "yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'";

    public static string Time(DateTimeOffset value) => value.UtcDateTime.ToString(TimeFormat, CultureInfo.InvariantCulture);

    public static object Time(DateTimeOffset? value) => value is { } v ? Time(v) : DBNull.Value;

    public static DateTimeOffset ParseTime(string text) =>
        DateTimeOffset.ParseExact(text, TimeFormat, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal);

    public static string Money(decimal value) => value.ToString(CultureInfo.InvariantCulture);

    public static object Money(decimal? value) => value is { } v ? Money(v) : DBNull.Value;

    public static decimal ParseMoney(string text) => decimal.Parse(text, NumberStyles.Float, CultureInfo.InvariantCulture);

    public static string Array(IEnumerable<string> values) => JsonSerializer.Serialize(values.ToArray());

    public static string[] ParseArray(string json) => JsonSerializer.Deserialize<string[]>(json) ?? [];

    public static string? Text(DbDataReader reader, int ordinal)
    {
        ArgumentNullException.ThrowIfNull(reader);
        return reader.IsDBNull(ordinal) ? null : reader.GetString(ordinal);
    }

    public static DateTimeOffset? Time(DbDataReader reader, int ordinal)
    {
        ArgumentNullException.ThrowIfNull(reader);
        return reader.IsDBNull(ordinal) ? null : ParseTime(reader.GetString(ordinal));
    }

    public static decimal? Money(DbDataReader reader, int ordinal)
    {
        ArgumentNullException.ThrowIfNull(reader);
        return reader.IsDBNull(ordinal) ? null : ParseMoney(reader.GetString(ordinal));
    }
}
