using Broker.ServiceDefaults.Bus;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;

namespace Broker.ServiceDefaults.Tests.Bus;

/// <summary>In memory, what is sent to this process's own instance address reaches its handlers without crossing the bus.</summary>
public sealed class InstanceEndpointTests : IAsyncLifetime
{
    private readonly ServiceProvider _services = new ServiceCollection()
        .AddMassTransit(x => x.UsingInMemory((_, cfg) =>
            // answers each Ping at the address the sender named, as a worker answers a command
            cfg.ReceiveEndpoint("echo", e => e.Handler<Ping>(context =>
                InstanceEndpoint.SendAsync(context, context.ResponseAddress!, new Pong(context.Message.Text))))))
        .BuildServiceProvider();

    private readonly Received _received = new();
    private IBusControl _bus = null!;
    private InstanceEndpoint _instance = null!;

    public async Task InitializeAsync()
    {
        _bus = _services.GetRequiredService<IBusControl>();
        _bus.ConnectReceiveObserver(_received);
        await _bus.StartAsync();
        _instance = new InstanceEndpoint(_bus, new BusOptions(), NullLogger<InstanceEndpoint>.Instance);
    }

    public async Task DisposeAsync()
    {
        await _bus.StopAsync();
        await _services.DisposeAsync();
    }

    [Fact]
    public async Task SendAsync_HandlerInThisProcess_CalledDirectlyNotThroughTheBus()
    {
        var handled = new List<string>();
        using var handle = _instance.ConnectHandler<Ping>(message =>
        {
            handled.Add(message.Text);
            return Task.CompletedTask;
        });

        await InstanceEndpoint.SendAsync(_bus, _instance.Address, new Ping("one"));
        var target = await InstanceEndpoint.ResolveAsync(_bus, _instance.Address);
        await target.SendAsync(new Ping("two"));

        Assert.Equal(["one", "two"], handled);
        Assert.Equal(0, _received.Count);
    }

    [Fact]
    public async Task SendAsync_ToAResponseAddressThatCameThroughTheBus_CalledDirectly()
    {
        var receivedWhenAnswered = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        using var handle = _instance.ConnectHandler<Pong>(message =>
        {
            receivedWhenAnswered.TrySetResult(_received.Count);
            return Task.CompletedTask;
        });

        var echo = await _bus.GetSendEndpoint(new Uri("queue:echo"));
        await echo.Send(new Ping("there"), context => context.ResponseAddress = _instance.Address);

        // only the Ping crossed the bus: through it, the Pong would have been received before its handler ran
        Assert.Equal(1, await receivedWhenAnswered.Task.WaitAsync(TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public async Task SendAsync_HandlerDisconnected_GoesThroughTheBus()
    {
        var handled = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        var handle = _instance.ConnectHandler<Ping>(message =>
        {
            handled.TrySetResult(message.Text);
            return Task.CompletedTask;
        });
        handle.Disconnect();

        await InstanceEndpoint.SendAsync(_bus, _instance.Address, new Ping("late"));

        await WaitUntilAsync(() => _received.Count == 1);
        Assert.False(handled.Task.IsCompleted);
    }

    [Fact]
    public async Task SendAsync_LocalHandlerThrows_SenderGoesOnAndOtherMessagesStillDelivered()
    {
        var handled = new List<string>();
        using var failing = _instance.ConnectHandler<Ping>(_ => throw new InvalidOperationException("boom"));
        using var other = _instance.ConnectHandler<Pong>(message =>
        {
            handled.Add(message.Text);
            return Task.CompletedTask;
        });

        await InstanceEndpoint.SendAsync(_bus, _instance.Address, new Ping("fails"));
        await InstanceEndpoint.SendAsync(_bus, _instance.Address, new Pong("after"));

        Assert.Equal(["after"], handled);
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        for (var i = 0; i < 200 && !condition(); i++)
        {
            await Task.Delay(25);
        }

        Assert.True(condition());
    }

    public sealed record Ping(string Text);

    public sealed record Pong(string Text);

    private sealed class Received : IReceiveObserver
    {
        private int _count;

        public int Count => Volatile.Read(ref _count);

        public Task PreReceive(ReceiveContext context)
        {
            Interlocked.Increment(ref _count);
            return Task.CompletedTask;
        }

        public Task PostReceive(ReceiveContext context) => Task.CompletedTask;

        public Task PostConsume<T>(ConsumeContext<T> context, TimeSpan duration, string consumerType)
            where T : class => Task.CompletedTask;

        public Task ConsumeFault<T>(ConsumeContext<T> context, TimeSpan duration, string consumerType, Exception exception)
            where T : class => Task.CompletedTask;

        public Task ReceiveFault(ReceiveContext context, Exception exception) => Task.CompletedTask;
    }
}
