using System.Collections.Specialized;
using System.Web;
using MassTransit;
using Microsoft.Extensions.Hosting;
using RabbitMQ.Client;

namespace Broker.ServiceDefaults.Bus;

/// <summary>
/// The address at which other processes reach this one: replies to the requests an Ingress sends, chunks of its
/// streams, cancels for a worker's streams. Such a process may be gone by the time the message is sent (scaled
/// down, restarted, killed), and a sender must not suffer for it.
/// <para>
/// On RabbitMQ a process's own temporary exchange disappears with it, and publishing to a missing exchange is a
/// channel error that closes the sender's shared channel, failing every send in flight on it: a worker answering a
/// dead ingress used to break the answers to every live one. So instances are addressed through one durable direct
/// exchange (<see cref="ExchangeName"/>) with the instance's key as routing key; each instance binds its temporary
/// queue under its key, and a message for an instance that is gone is simply unroutable and dropped. In memory
/// (one process) the bus's own address is used.
/// </para>
/// </summary>
public sealed class InstanceEndpoint(IBus bus, BusOptions options) : IHostedService, IReceiveEndpointObserver
{
    /// <summary>The direct exchange every instance's queue is bound to under its own key.</summary>
    public const string ExchangeName = "broker.instances";

    /// <summary>The query parameter of an instance address that carries its routing key (never sent to MassTransit).</summary>
    private const string KeyParameter = "instance";

    private readonly Lock _lock = new();
    private readonly List<Subscription> _subscriptions = [];
    // set once the endpoint is up and every handler connected to it
    private volatile HostReceiveEndpointHandle? _endpoint;
    private Uri? _address;
    private volatile bool _receiving;
    private volatile bool _stopping;

    /// <summary>This process's routing key on <see cref="ExchangeName"/>.</summary>
    public string Key { get; } = NewId.NextGuid().ToString("N");

    /// <summary>
    /// Where to send what is meant for this process (a request's ResponseAddress, a stream's worker address). On
    /// RabbitMQ it is the instance exchange with this process's key from the start, before its queue is bound: what is
    /// sent there meanwhile is dropped, never a channel error.
    /// </summary>
    public Uri Address => options.IsDistributed
        ? _address ??= new Uri(bus.Address, $"{ExchangeName}?type={ExchangeType.Direct}&{KeyParameter}={Key}")
        : bus.Address;

    /// <summary>This instance lost its queue (RabbitMQ connection down): answers on their way to it are lost.</summary>
    public event Action? ReceivingLost;

    /// <summary>
    /// Whether answers sent to <see cref="Address"/> reach this process now. False while its RabbitMQ connection is
    /// down or being recovered (an answer sent meanwhile would be unroutable and dropped); always true in memory.
    /// </summary>
    public bool IsReceiving => !options.IsDistributed || _receiving;

    /// <summary>Handles messages of type <typeparamref name="T"/> sent to <see cref="Address"/>.</summary>
    public ConnectHandle ConnectHandler<T>(MessageHandler<T> handler)
        where T : class
    {
        var subscription = new Subscription(connector => connector.ConnectHandler(handler));
        lock (_lock)
        {
            _subscriptions.Add(subscription);
            if (!options.IsDistributed)
            {
                subscription.Connect(bus);
            }
            else if (_endpoint is { } endpoint)
            {
                subscription.Connect(endpoint.ReceiveEndpoint);
            }
        }

        return subscription;
    }

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (!options.IsDistributed)
        {
            return;
        }

        // runs after the bus has started (registered after it): a temporary queue bound under this instance's key
        var endpoint = bus.ConnectReceiveEndpoint(new TemporaryEndpointDefinition("instance"), KebabCaseEndpointNameFormatter.Instance, cfg =>
        {
            cfg.ConfigureConsumeTopology = false;
            cfg.ConnectReceiveEndpointObserver(this);
            if (cfg is IRabbitMqReceiveEndpointConfigurator rabbit)
            {
                rabbit.Bind(ExchangeName, b =>
                {
                    b.ExchangeType = ExchangeType.Direct;
                    b.RoutingKey = Key;
                });
            }
        });
        await endpoint.Ready.WaitAsync(cancellationToken);
        lock (_lock)
        {
            foreach (var subscription in _subscriptions)
            {
                subscription.Connect(endpoint.ReceiveEndpoint);
            }

            _endpoint = endpoint;
        }

        // receiving only once the handlers are there
        _receiving = true;
    }

    public Task Ready(ReceiveEndpointReady ready)
    {
        // again after a reconnect (the handlers stay connected); the first time, StartAsync decides
        _stopping = false;
        _receiving = _endpoint is not null;
        return Task.CompletedTask;
    }

    public Task Stopping(ReceiveEndpointStopping stopping)
    {
        _stopping = true;
        _receiving = false;
        return Task.CompletedTask;
    }

    public Task Completed(ReceiveEndpointCompleted completed)
    {
        Lost();
        return Task.CompletedTask;
    }

    public Task Faulted(ReceiveEndpointFaulted faulted)
    {
        Lost();
        return Task.CompletedTask;
    }

    /// <summary>The endpoint went down without being stopped: the connection dropped, and the queue with it.</summary>
    private void Lost()
    {
        var wasReceiving = _receiving;
        _receiving = false;
        if (wasReceiving && _endpoint is not null && !_stopping)
        {
            ReceivingLost?.Invoke();
        }
    }

    /// <summary>The bus stops the endpoint with the others, after the consumers in flight have drained.</summary>
    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>
    /// Sends <paramref name="message"/> to an instance address (or any other address); nothing happens when that
    /// instance is gone.
    /// </summary>
    public static async Task SendAsync<T>(
        ISendEndpointProvider provider, Uri address, T message, Action<SendContext<T>>? configure = null, CancellationToken cancellationToken = default)
        where T : class
    {
        ArgumentNullException.ThrowIfNull(provider);
        var target = await ResolveAsync(provider, address);
        await target.SendAsync(message, configure, cancellationToken);
    }

    /// <summary>The send endpoint and routing key for an address, for several sends to the same instance.</summary>
    public static async Task<InstanceTarget> ResolveAsync(ISendEndpointProvider provider, Uri address)
    {
        ArgumentNullException.ThrowIfNull(provider);
        ArgumentNullException.ThrowIfNull(address);
        var (exchange, key) = Split(address);
        return new InstanceTarget(await provider.GetSendEndpoint(exchange), key);
    }

    /// <summary>An instance address → the exchange address MassTransit knows and the routing key; other addresses unchanged.</summary>
    public static (Uri Address, string? Key) Split(Uri address)
    {
        ArgumentNullException.ThrowIfNull(address);
        if (string.IsNullOrEmpty(address.Query))
        {
            return (address, null);
        }

        NameValueCollection query = HttpUtility.ParseQueryString(address.Query);
        if (query[KeyParameter] is not { Length: > 0 } key)
        {
            return (address, null);
        }

        query.Remove(KeyParameter);
        var builder = new UriBuilder(address) { Query = query.ToString() ?? "" };
        return (builder.Uri, key);
    }

    private sealed class Subscription(Func<IConsumePipeConnector, ConnectHandle> connect) : ConnectHandle
    {
        private readonly List<ConnectHandle> _handles = [];
        private bool _disconnected;

        public void Connect(IConsumePipeConnector connector)
        {
            lock (_handles)
            {
                if (!_disconnected)
                {
                    _handles.Add(connect(connector));
                }
            }
        }

        public void Disconnect()
        {
            lock (_handles)
            {
                _disconnected = true;
                foreach (var handle in _handles)
                {
                    handle.Disconnect();
                }

                _handles.Clear();
            }
        }

        public void Dispose() => Disconnect();
    }
}

/// <summary>A resolved destination: its send endpoint and, for an instance on RabbitMQ, the routing key.</summary>
public readonly record struct InstanceTarget(ISendEndpoint Endpoint, string? RoutingKey)
{
    public Task SendAsync<T>(T message, Action<SendContext<T>>? configure = null, CancellationToken cancellationToken = default)
        where T : class
    {
        var key = RoutingKey;
        return Endpoint.Send(message, context =>
        {
            if (key is not null)
            {
                context.TrySetRoutingKey(key);
            }

            configure?.Invoke(context);
        }, cancellationToken);
    }
}
