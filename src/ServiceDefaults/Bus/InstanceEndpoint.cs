using System.Collections.Concurrent;
using System.Collections.Specialized;
using System.Web;
using MassTransit;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
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
/// (one process) the bus's own address is used, and a message sent to it is handed to this process's handlers
/// directly: no serialisation, no trip through the in-memory transport (<see cref="SendAsync{T}"/>).
/// </para>
/// </summary>
public sealed class InstanceEndpoint(IBus bus, BusOptions options, ILogger<InstanceEndpoint> logger) : IHostedService, IReceiveEndpointObserver
{
    // in memory: the instances of this process by address, for sends that need not cross the bus (weak: a host that is
    // disposed without being stopped is not kept alive by it)
    private static readonly ConcurrentDictionary<Uri, WeakReference<InstanceEndpoint>> Local = new();

    /// <summary>The direct exchange every instance's queue is bound to under its own key.</summary>
    public const string ExchangeName = "broker.instances";

    /// <summary>The query parameter of an instance address that carries its routing key (never sent to MassTransit).</summary>
    private const string KeyParameter = "instance";

    private readonly Lock _lock = new();
    private readonly List<Subscription> _subscriptions = [];
    // in memory: the handlers of each message type, called in place of a trip through the bus
    private volatile Dictionary<Type, Subscription[]> _localHandlers = [];
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

    /// <summary>
    /// Handles messages of type <typeparamref name="T"/> sent to <see cref="Address"/>. In memory the handler runs on the
    /// sender's thread, inside its send: it must be quick and never block (hand longer work to a task of its own), and it
    /// sees only the message, not the headers the sender set.
    /// </summary>
    public ConnectHandle ConnectHandler<T>(Func<T, Task> handler)
        where T : class
    {
        ArgumentNullException.ThrowIfNull(handler);
        var subscription = new Subscription(connector => connector.ConnectHandler<T>(context => handler(context.Message)), typeof(T),
            message => handler((T)message), RemoveLocal) { Logger = logger };
        lock (_lock)
        {
            _subscriptions.Add(subscription);
            if (!options.IsDistributed)
            {
                subscription.Connect(bus);
                AddLocal(subscription);
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
    public Task StopAsync(CancellationToken cancellationToken)
    {
        // in memory: from here on what is sent to this process goes through the bus again, until the bus stops
        if (!options.IsDistributed)
        {
            Local.TryRemove(new KeyValuePair<Uri, WeakReference<InstanceEndpoint>>(bus.Address, LocalReference));
        }

        return Task.CompletedTask;
    }

    private WeakReference<InstanceEndpoint> LocalReference => field ??= new WeakReference<InstanceEndpoint>(this);

    private void AddLocal(Subscription subscription)
    {
        lock (_lock)
        {
            var handlers = new Dictionary<Type, Subscription[]>(_localHandlers);
            handlers[subscription.MessageType] = [.. handlers.GetValueOrDefault(subscription.MessageType, []), subscription];
            _localHandlers = handlers;
            Local[bus.Address] = LocalReference;
        }
    }

    private void RemoveLocal(Subscription subscription)
    {
        if (options.IsDistributed)
        {
            return;
        }

        lock (_lock)
        {
            if (!_localHandlers.TryGetValue(subscription.MessageType, out var list))
            {
                return;
            }

            var handlers = new Dictionary<Type, Subscription[]>(_localHandlers);
            var rest = list.Where(s => s != subscription).ToArray();
            if (rest.Length == 0)
            {
                handlers.Remove(subscription.MessageType);
            }
            else
            {
                handlers[subscription.MessageType] = rest;
            }

            _localHandlers = handlers;
        }
    }

    /// <summary>
    /// The handlers of this process for a message sent to <paramref name="address"/>, when that is this process's own
    /// address in memory and something here handles <typeparamref name="T"/>; else null (it goes through the bus).
    /// </summary>
    internal static Subscription[]? LocalHandlersOf<T>(Uri address)
    {
        return Local.TryGetValue(address, out var reference) && reference.TryGetTarget(out var instance) &&
            instance._localHandlers.TryGetValue(typeof(T), out var handlers) ? handlers : null;
    }

    /// <summary>Calls this process's handlers as the bus would: the sender never sees how a handler fared.</summary>
    internal static async Task DeliverLocallyAsync<T>(Subscription[] handlers, T message)
        where T : class
    {
        foreach (var handler in handlers)
        {
            try
            {
                await handler.Deliver(message);
            }
            catch (Exception ex)
            {
                handler.Fail(ex);
            }
        }
    }

    /// <summary>
    /// Sends <paramref name="message"/> to an instance address (or any other address); nothing happens when that
    /// instance is gone.
    /// </summary>
    public static async Task SendAsync<T>(
        ISendEndpointProvider provider, Uri address, T message, Action<SendContext<T>>? configure = null, CancellationToken cancellationToken = default)
        where T : class
    {
        ArgumentNullException.ThrowIfNull(provider);
        ArgumentNullException.ThrowIfNull(address);
        if (LocalHandlersOf<T>(address) is { } local)
        {
            await DeliverLocallyAsync(local, message);
            return;
        }

        var target = await ResolveAsync(provider, address);
        await target.SendAsync(message, configure, cancellationToken);
    }

    /// <summary>The send endpoint and routing key for an address, for several sends to the same instance.</summary>
    public static async Task<InstanceTarget> ResolveAsync(ISendEndpointProvider provider, Uri address)
    {
        ArgumentNullException.ThrowIfNull(provider);
        ArgumentNullException.ThrowIfNull(address);
        var (exchange, key) = Split(address);
        return new InstanceTarget(await provider.GetSendEndpoint(exchange), key) { LocalAddress = Local.ContainsKey(address) ? address : null };
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

    internal sealed class Subscription(
        Func<IConsumePipeConnector, ConnectHandle> connect, Type messageType, Func<object, Task> deliver, Action<Subscription> disconnected) : ConnectHandle
    {
        private readonly List<ConnectHandle> _handles = [];
        private bool _disconnected;

        public Type MessageType => messageType;

        public ILogger? Logger { get; init; }

        public Task Deliver(object message) => deliver(message);

        public void Fail(Exception exception)
        {
            if (Logger is { } logger)
            {
                Log.LocalHandlerFailed(logger, messageType.Name, exception);
            }
        }

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

            // outside this lock: the instance's own lock is taken while it holds this one (StartAsync connects under it)
            disconnected(this);
        }

        public void Dispose() => Disconnect();
    }
}

/// <summary>A resolved destination: its send endpoint and, for an instance on RabbitMQ, the routing key.</summary>
public readonly record struct InstanceTarget(ISendEndpoint Endpoint, string? RoutingKey)
{
    /// <summary>In memory, an address of this process: its handlers are called directly when they take the message.</summary>
    public Uri? LocalAddress { get; init; }

    public Task SendAsync<T>(T message, Action<SendContext<T>>? configure = null, CancellationToken cancellationToken = default)
        where T : class
    {
        if (LocalAddress is { } local && InstanceEndpoint.LocalHandlersOf<T>(local) is { } handlers)
        {
            return InstanceEndpoint.DeliverLocallyAsync(handlers, message);
        }

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
