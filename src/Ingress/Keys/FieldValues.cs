using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Broker.Config.Model;
using NpgsqlTypes;

namespace Broker.Ingress.Keys;

/// <summary>Reads the fields of a management request into column values, or says which field is wrong.</summary>
public static class FieldValues
{
    public static (List<ColumnValue> Values, string? Error) Read(JsonObject body, IReadOnlyList<FieldSpec> fields, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(body);
        ArgumentNullException.ThrowIfNull(fields);
        var values = new List<ColumnValue>();
        // guardrails, mcp_servers: kept in metadata (merged into the stored metadata when the body has none)
        JsonObject? metadataMerge = null;
        if (fields.Any(f => f.Name == "metadata"))
        {
            (metadataMerge, var metadataError) = MetadataFields.Fold(body);
            if (metadataError is not null)
            {
                return (values, metadataError);
            }
        }

        foreach (var field in fields)
        {
            if (!body.TryGetPropertyValue(field.Name, out var node))
            {
                continue;
            }

            var error = Add(values, field, node, now);
            if (error is not null)
            {
                return (values, $"{field.Name}: {error}");
            }
        }

        if (metadataMerge is not null)
        {
            values.Add(new("metadata", metadataMerge.ToJsonString(), NpgsqlDbType.Jsonb, MergeJson: true));
        }

        return (values, null);
    }

    private static string? Add(List<ColumnValue> values, FieldSpec field, JsonNode? node, DateTimeOffset now)
    {
        switch (field.Kind)
        {
            case FieldKind.Text:
                if (node is not null && node.GetValueKind() != JsonValueKind.String)
                {
                    return "expected a string";
                }

                values.Add(new(field.Column, node?.GetValue<string>(), NpgsqlDbType.Text));
                return null;
            case FieldKind.TextArray:
                if (node is null)
                {
                    values.Add(new(field.Column, Array.Empty<string>(), NpgsqlDbType.Array | NpgsqlDbType.Text));
                    return null;
                }

                if (node is not JsonArray array || array.Any(i => i is null || i.GetValueKind() != JsonValueKind.String))
                {
                    return "expected a list of strings";
                }

                values.Add(new(field.Column, array.Select(i => i!.GetValue<string>()).ToArray(), NpgsqlDbType.Array | NpgsqlDbType.Text));
                return null;
            case FieldKind.Money:
                if (node is null)
                {
                    values.Add(new(field.Column, field.Column == "spend" ? 0m : null, NpgsqlDbType.Numeric));
                    return null;
                }

                if (!TryNumber(node, out var money) || money < 0)
                {
                    return "expected a number >= 0";
                }

                values.Add(new(field.Column, money, NpgsqlDbType.Numeric));
                return null;
            case FieldKind.WholeNumber:
            case FieldKind.SmallWholeNumber:
                if (node is null)
                {
                    values.Add(new(field.Column, null, field.Kind == FieldKind.WholeNumber ? NpgsqlDbType.Bigint : NpgsqlDbType.Integer));
                    return null;
                }

                if (!TryNumber(node, out var n) || n < 0 || n != decimal.Truncate(n) || n > int.MaxValue)
                {
                    return "expected a whole number >= 0";
                }

                values.Add(field.Kind == FieldKind.WholeNumber
                    ? new(field.Column, (long)n, NpgsqlDbType.Bigint)
                    : new(field.Column, (int)n, NpgsqlDbType.Integer));
                return null;
            case FieldKind.Json:
                if (node is not null and not JsonObject)
                {
                    return "expected an object";
                }

                values.Add(new(field.Column, node?.ToJsonString() ?? "{}", NpgsqlDbType.Jsonb));
                return null;
            case FieldKind.Bool:
                if (node is null || node.GetValueKind() is not (JsonValueKind.True or JsonValueKind.False))
                {
                    return "expected true or false";
                }

                values.Add(new(field.Column, node.GetValue<bool>(), NpgsqlDbType.Boolean));
                return null;
            case FieldKind.BudgetDuration:
                {
                    var text = node is null ? null : node.GetValueKind() == JsonValueKind.String ? node.GetValue<string>() : null;
                    if (node is not null && text is null)
                    {
                        return "expected a duration such as \"30d\"";
                    }

                    if (text is null)
                    {
                        values.Add(new(field.Column, null, NpgsqlDbType.Text));
                        values.Add(new("budget_reset_at", null, NpgsqlDbType.TimestampTz));
                        return null;
                    }

                    if (!LiteLlmDuration.TryParse(text, out var period) || period.Length <= TimeSpan.Zero)
                    {
                        return $"'{text}' is not a duration (30s, 30m, 30h, 30d, 1mo)";
                    }

                    // the first period ends as Billing's resets end the next ones (whole months by the calendar)
                    values.Add(new(field.Column, text, NpgsqlDbType.Text));
                    values.Add(new("budget_reset_at", period.After(now).ToUniversalTime(), NpgsqlDbType.TimestampTz));
                    return null;
                }

            case FieldKind.Expiry:
                {
                    var text = node is null ? null : node.GetValueKind() == JsonValueKind.String ? node.GetValue<string>() : null;
                    if (node is not null && text is null)
                    {
                        return "expected a duration such as \"30d\"";
                    }

                    if (text is null || text == "-1")
                    {
                        values.Add(new(field.Column, null, NpgsqlDbType.TimestampTz));
                        return null;
                    }

                    if (!LiteLlmDuration.TryParse(text, out var lifetime))
                    {
                        return $"'{text}' is not a duration (30s, 30m, 30h, 30d, 1mo)";
                    }

                    values.Add(new(field.Column, (now + lifetime.Length).ToUniversalTime(), NpgsqlDbType.TimestampTz));
                    return null;
                }

            default:
                throw new InvalidOperationException($"unknown field kind {field.Kind}");
        }
    }

    private static bool TryNumber(JsonNode node, out decimal value)
    {
        value = 0;
        return node.GetValueKind() switch
        {
            JsonValueKind.Number => node.AsValue().TryGetValue(out value),
            JsonValueKind.String => decimal.TryParse(node.GetValue<string>(), NumberStyles.Float, CultureInfo.InvariantCulture, out value),
            _ => false,
        };
    }
}
