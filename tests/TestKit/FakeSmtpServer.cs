using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Broker.TestKit;

/// <summary>One message a <see cref="FakeSmtpServer"/> took: envelope sender, recipients, the AUTH user and the raw DATA.</summary>
public sealed record ReceivedMail(string From, IReadOnlyList<string> To, string? AuthUser, string Data);

/// <summary>
/// A minimal real SMTP server on 127.0.0.1 (EHLO, AUTH PLAIN/LOGIN, MAIL, RCPT, DATA, RSET, NOOP, QUIT; no TLS), for
/// testing email delivery end to end.
/// </summary>
public sealed class FakeSmtpServer : IAsyncDisposable
{
    private readonly TcpListener _listener;
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentQueue<ReceivedMail> _mails = new();
    private readonly Task _accepting;

    private FakeSmtpServer()
    {
        _listener = new TcpListener(IPAddress.Loopback, 0);
        _listener.Start();
        Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
        _accepting = AcceptAsync();
    }

    public int Port { get; }

    public IReadOnlyList<ReceivedMail> Mails => _mails.ToList();

    public static FakeSmtpServer Start() => new();

    public async Task<IReadOnlyList<ReceivedMail>> WaitForAsync(Func<IReadOnlyList<ReceivedMail>, bool> condition, TimeSpan? timeout = null)
    {
        var deadline = DateTimeOffset.UtcNow + (timeout ?? TimeSpan.FromSeconds(60));
        while (!condition(Mails))
        {
            if (DateTimeOffset.UtcNow > deadline)
            {
                throw new TimeoutException($"the fake SMTP server got {Mails.Count} mail(s), not what was expected");
            }

            await Task.Delay(100);
        }

        return Mails;
    }

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await _listener.AcceptTcpClientAsync(_stop.Token);
            }
            catch (Exception) when (_stop.IsCancellationRequested)
            {
                return;
            }

            _ = Task.Run(() => ServeAsync(client));
        }
    }

    private async Task ServeAsync(TcpClient client)
    {
        using var _ = client;
        var stream = client.GetStream();
        var reader = new StreamReader(stream, Encoding.ASCII);
        var writer = new StreamWriter(stream, Encoding.ASCII) { NewLine = "\r\n", AutoFlush = true };
        string? from = null;
        string? authUser = null;
        var to = new List<string>();
        try
        {
            await writer.WriteLineAsync("220 fake-smtp ready");
            while (await reader.ReadLineAsync(_stop.Token) is { } line)
            {
                var verb = line.Split(' ', 2)[0].ToUpperInvariant();
                switch (verb)
                {
                    case "EHLO":
                        await writer.WriteLineAsync("250-fake-smtp");
                        await writer.WriteLineAsync("250-AUTH PLAIN LOGIN");
                        await writer.WriteLineAsync("250 8BITMIME");
                        break;
                    case "HELO":
                        await writer.WriteLineAsync("250 fake-smtp");
                        break;
                    case "AUTH":
                        authUser = await AuthAsync(line, reader, writer);
                        break;
                    case "MAIL":
                        from = Address(line);
                        to.Clear();
                        await writer.WriteLineAsync("250 OK");
                        break;
                    case "RCPT":
                        to.Add(Address(line));
                        await writer.WriteLineAsync("250 OK");
                        break;
                    case "DATA":
                        await writer.WriteLineAsync("354 end with <CRLF>.<CRLF>");
                        var data = new StringBuilder();
                        while (await reader.ReadLineAsync(_stop.Token) is { } dataLine && dataLine != ".")
                        {
                            data.AppendLine(dataLine.StartsWith("..", StringComparison.Ordinal) ? dataLine[1..] : dataLine);
                        }

                        _mails.Enqueue(new ReceivedMail(from ?? "", to.ToList(), authUser, data.ToString()));
                        await writer.WriteLineAsync("250 OK queued");
                        break;
                    case "QUIT":
                        await writer.WriteLineAsync("221 bye");
                        return;
                    default:
                        await writer.WriteLineAsync("250 OK");
                        break;
                }
            }
        }
        catch (Exception ex) when (ex is IOException or OperationCanceledException or ObjectDisposedException)
        {
        }
    }

    private static async Task<string?> AuthAsync(string line, StreamReader reader, StreamWriter writer)
    {
        var parts = line.Split(' ');
        string? user;
        if (parts[1].Equals("PLAIN", StringComparison.OrdinalIgnoreCase))
        {
            var encoded = parts.Length > 2 ? parts[2] : await Challenge(reader, writer, "");
            user = Encoding.UTF8.GetString(Convert.FromBase64String(encoded)).Split('\0')[1];
        }
        else
        {
            var first = parts.Length > 2 ? parts[2] : await Challenge(reader, writer, "VXNlcm5hbWU6");
            user = Encoding.UTF8.GetString(Convert.FromBase64String(first));
            await Challenge(reader, writer, "UGFzc3dvcmQ6");
        }

        await writer.WriteLineAsync("235 authenticated");
        return user;
    }

    private static async Task<string> Challenge(StreamReader reader, StreamWriter writer, string prompt)
    {
        await writer.WriteLineAsync("334 " + prompt);
        return await reader.ReadLineAsync() ?? "";
    }

    private static string Address(string line)
    {
        var start = line.IndexOf('<', StringComparison.Ordinal);
        var end = line.IndexOf('>', StringComparison.Ordinal);
        return start >= 0 && end > start ? line[(start + 1)..end] : line;
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        try
        {
            await _accepting;
        }
        catch (OperationCanceledException)
        {
        }

        _stop.Dispose();
    }
}
