using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;

namespace Broker.TestKit;

/// <summary>
/// A TCP forwarder on 127.0.0.1 in front of a real service, to inject a network fault into one client only:
/// <see cref="Cut"/> drops every open connection and refuses new ones until <see cref="Restore"/>; <see cref="Stall"/>
/// holds back what the service sends (answers, acknowledgements) while the connections stay open, as a service that
/// hangs before it goes away.
/// </summary>
public sealed class TcpProxy : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly ConcurrentDictionary<TcpClient, TcpClient> _pairs = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly string _targetHost;
    private readonly int _targetPort;
    private readonly Task _accepting;
    private volatile bool _cut;
    private volatile bool _stalled;

    private TcpProxy(string targetHost, int targetPort)
    {
        _targetHost = targetHost;
        _targetPort = targetPort;
        _listener.Start();
        _accepting = AcceptAsync();
    }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    public static TcpProxy Start(string targetHost, int targetPort) => new(targetHost, targetPort);

    /// <summary>Closes every forwarded connection; new ones are closed as soon as they are accepted.</summary>
    public void Cut()
    {
        _cut = true;
        foreach (var (client, upstream) in _pairs)
        {
            client.Close();
            upstream.Close();
        }

        _pairs.Clear();
    }

    public void Restore()
    {
        _stalled = false;
        _cut = false;
    }

    /// <summary>Stops forwarding what the service sends until <see cref="Cut"/> or <see cref="Restore"/>; what the client sends still goes through.</summary>
    public void Stall() => _stalled = true;

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await _listener.AcceptTcpClientAsync(_stop.Token);
            }
            catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }

            if (_cut)
            {
                client.Close();
                continue;
            }

            _ = ForwardAsync(client);
        }
    }

    private async Task ForwardAsync(TcpClient client)
    {
        var upstream = new TcpClient();
        try
        {
            await upstream.ConnectAsync(_targetHost, _targetPort, _stop.Token);
            _pairs[client] = upstream;
            if (_cut)
            {
                return; // cut while this pair was connecting: it would have outlived the cut
            }

            var a = client.GetStream().CopyToAsync(upstream.GetStream(), _stop.Token);
            var b = PumpAsync(upstream.GetStream(), client.GetStream(), _stop.Token);
            await Task.WhenAny(a, b);
        }
        catch (Exception ex) when (ex is IOException or SocketException or OperationCanceledException or ObjectDisposedException or InvalidOperationException)
        {
            // one side went away (or the cut closed both): the pair ends
        }
        finally
        {
            _pairs.TryRemove(client, out _);
            client.Close();
            upstream.Close();
        }
    }

    /// <summary>Copies the service's bytes to the client, holding them while stalled.</summary>
    private async Task PumpAsync(Stream from, Stream to, CancellationToken cancellationToken)
    {
        var buffer = new byte[81920];
        int read;
        while ((read = await from.ReadAsync(buffer, cancellationToken)) > 0)
        {
            while (_stalled && !_cut)
            {
                await Task.Delay(10, cancellationToken);
            }

            await to.WriteAsync(buffer.AsMemory(0, read), cancellationToken);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        Cut();
        await _accepting;
        _stop.Dispose();
    }
}
