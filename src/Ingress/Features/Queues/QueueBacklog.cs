using Broker.ServiceDefaults.Bus;
using Microsoft.Extensions.Logging;
using RabbitMQ.Client;
using RabbitMQ.Client.Exceptions;

namespace Broker.Ingress.Features.Queues;

/// <summary>
/// Whether a model group's queue has a backlog right now: messages ready and consumers, read over AMQP with a passive
/// queue declare (exact at the moment of asking, unlike the management API's statistics, which RabbitMQ refreshes only
/// every few seconds). Read at most once a second per queue; unknown (in-memory bus, RabbitMQ not answering) is
/// "no backlog".
/// </summary>
public sealed partial class QueueBacklog(BusOptions bus, TimeProvider timeProvider, ILogger<QueueBacklog> logger) : IAsyncDisposable
{
    private static readonly TimeSpan MaxAge = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan AskTimeout = TimeSpan.FromSeconds(3);

    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly Dictionary<string, (long At, bool Backlog)> _last = new(StringComparer.Ordinal);
    private IConnection? _connection;
    private IChannel? _channel;
    private bool _warned;

    /// <summary>True when <paramref name="queue"/> has messages ready and at least one consumer.</summary>
    public async Task<bool> HasBacklogAsync(string queue)
    {
        if (bus.RabbitMqUrl is null)
        {
            return false;
        }

        using var timeout = new CancellationTokenSource(AskTimeout);
        try
        {
            await _gate.WaitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            return false;
        }

        try
        {
            if (_last.TryGetValue(queue, out var last) && timeProvider.GetElapsedTime(last.At) < MaxAge)
            {
                return last.Backlog;
            }

            var channel = await ChannelAsync(timeout.Token);
            var ok = await channel.QueueDeclarePassiveAsync(queue, timeout.Token);
            var backlog = ok is { MessageCount: > 0, ConsumerCount: > 0 };
            _last[queue] = (timeProvider.GetTimestamp(), backlog);
            _warned = false;
            return backlog;
        }
        catch (Exception ex) when (ex is OperationInterruptedException or BrokerUnreachableException or AlreadyClosedException
                                       or OperationCanceledException or IOException or System.Net.Sockets.SocketException)
        {
            // a queue that does not exist closes the channel; anything else closes the connection: start afresh next time
            await ResetAsync(closeConnection: ex is not OperationInterruptedException);
            if (!_warned)
            {
                _warned = true;
                CannotAsk(logger, queue, ex.Message);
            }

            return false;
        }
        finally
        {
            _gate.Release();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await ResetAsync(closeConnection: true);
        _gate.Dispose();
    }

    private async Task<IChannel> ChannelAsync(CancellationToken cancellationToken)
    {
        if (_connection is not { IsOpen: true })
        {
            await ResetAsync(closeConnection: true);
            var factory = new ConnectionFactory { Uri = bus.RabbitMqUrl!, ClientProvidedName = "broker-ingress-backlog" };
            _connection = bus.ClusterNodes.Count > 0
                ? await factory.CreateConnectionAsync(bus.ClusterNodes.Select(n => AmqpTcpEndpoint.Parse(n)).ToList(), cancellationToken)
                : await factory.CreateConnectionAsync(cancellationToken);
        }

        if (_channel is not { IsOpen: true })
        {
            _channel = await _connection.CreateChannelAsync(cancellationToken: cancellationToken);
        }

        return _channel;
    }

    private async Task ResetAsync(bool closeConnection)
    {
        if (_channel is { } channel)
        {
            _channel = null;
            await CloseQuietlyAsync(channel);
        }

        if (closeConnection && _connection is { } connection)
        {
            _connection = null;
            await CloseQuietlyAsync(connection);
        }
    }

    private static async Task CloseQuietlyAsync(IAsyncDisposable closable)
    {
        try
        {
            await closable.DisposeAsync();
        }
        catch (Exception ex) when (ex is IOException or AlreadyClosedException or OperationInterruptedException or ObjectDisposedException)
        {
            // already gone
        }
    }

    [LoggerMessage(EventId = 1102, Level = LogLevel.Warning, Message = "Cannot read the depth of queue {Queue} over AMQP ({Reason}): a first attempt past its step is handed to the retry saga")]
    private static partial void CannotAsk(ILogger logger, string queue, string reason);
}
