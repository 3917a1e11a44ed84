using System.Text.Json.Nodes;
using Broker.Ingress.Auth;
using Broker.Ingress.Http;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;

namespace Broker.Ingress.Features.Queues;

public static class QueuesEndpoints
{
    private static readonly Dictionary<string, string> NoHeaders = [];

    /// <summary><c>GET /queues</c> (admin): per model group, queue depth, unacked, consumers, oldest message age.</summary>
    public static RouteGroupBuilder MapQueues(this RouteGroupBuilder group)
    {
        ArgumentNullException.ThrowIfNull(group);
        group.MapGet("/queues", async (QueueMonitor monitor, CancellationToken cancellationToken) =>
        {
            var queues = await monitor.RefreshAsync(cancellationToken);
            var data = new JsonArray();
            foreach (var q in queues)
            {
                data.Add(new JsonObject
                {
                    ["model_group"] = q.ModelGroup,
                    ["queue"] = q.Queue,
                    ["messages_ready"] = q.MessagesReady,
                    ["messages_unacknowledged"] = q.MessagesUnacknowledged,
                    ["consumers"] = q.Consumers,
                    ["oldest_message_age_seconds"] = q.OldestMessageAgeSeconds,
                    ["concurrency_per_worker"] = q.ConcurrencyPerWorker,
                });
            }

            return new JsonTextResult(new JsonObject { ["transport"] = monitor.Transport, ["queues"] = data }.ToJsonString(), NoHeaders);
        }).AdminOnly();
        return group;
    }
}
