namespace Broker.Billing;

/// <summary>Host settings of the Billing role (section <c>Billing</c>, e.g. <c>Billing__BudgetResetIntervalSeconds</c>).</summary>
public sealed class BillingOptions
{
    /// <summary>How often budgets whose period ended are reset.</summary>
    public double BudgetResetIntervalSeconds { get; set; } = 60;

    /// <summary>How often spend logs older than maximum_spend_logs_retention_period are deleted.</summary>
    public double RetentionIntervalSeconds { get; set; } = 3600;

    /// <summary>Rows deleted per statement by the retention job (memory and lock time stay bounded).</summary>
    public int RetentionChunkSize { get; set; } = 10_000;
}
