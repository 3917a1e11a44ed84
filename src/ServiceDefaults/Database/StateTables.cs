namespace Broker.ServiceDefaults.Database;

/// <summary>
/// The tables that hold Broker's state, as <c>broker migrate-db</c> copies them: parents before the tables whose foreign
/// keys point at them. A new table of state is one line in <see cref="Copied"/> (its columns and types are read from
/// the schemas); a table neither copied nor listed in <see cref="NotCopied"/> makes migrate-db refuse, so state is never
/// left behind without a word.
/// </summary>
public static class StateTables
{
    public static IReadOnlyList<string> Copied { get; } =
    [
        "broker_teams",
        "broker_users",
        "broker_keys",
        "broker_spend_logs",
        "broker_spend_counted",
        "broker_spend_guardrails",
        "broker_spend_totals",
        "broker_request_attempts",
        "broker_files",
        "broker_file_chunks",
        "broker_batches",
        "broker_batch_lines",
        "broker_models",
    ];

    /// <summary>Tables each store keeps for itself: the migration journal (the target runs its own migrations).</summary>
    public static IReadOnlyList<string> NotCopied { get; } = ["broker_schema_versions"];
}
