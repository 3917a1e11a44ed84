using Broker.Contracts.History;
using Broker.ServiceDefaults.Database;
using MassTransit;
using Microsoft.Extensions.Logging;

namespace Broker.Billing.History;

/// <summary>Answers an Ingress's <see cref="GetRequestHistory"/> from the attempt store.</summary>
public sealed class GetRequestHistoryConsumer(IRequestAttemptStore store, ILogger<GetRequestHistoryConsumer> logger) : IConsumer<GetRequestHistory>
{
    public async Task Consume(ConsumeContext<GetRequestHistory> context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var requestId = context.Message.RequestId;
        if (!store.IsConfigured)
        {
            await context.RespondAsync(new RequestHistoryUnavailable
            {
                RequestId = requestId,
                NotConfigured = true,
                Reason = "Attempt history needs a database (general_settings.database_url); none is configured",
            });
            return;
        }

        RequestHistoryFound? found;
        try
        {
            found = await store.FindAsync(requestId, context.CancellationToken);
        }
        catch (Exception ex) when (DatabaseErrors.IsTransient(ex))
        {
            Log.HistoryUnavailable(logger, requestId, ex.Message);
            await context.RespondAsync(new RequestHistoryUnavailable
            {
                RequestId = requestId,
                NotConfigured = false,
                Reason = "The attempt history cannot be read right now (database unavailable)",
            });
            return;
        }

        if (found is null)
        {
            await context.RespondAsync(new RequestHistoryNotFound { RequestId = requestId });
            return;
        }

        await context.RespondAsync(found);
    }
}
