using System.Collections.Concurrent;
using System.Text;

namespace Broker.Host.Tests.Keys;

/// <summary>
/// Tees the process's console (where Serilog writes every log line) into a buffer, so tests can assert on what was
/// logged. Installed once for the process; lines of other tests land there too, which is harmless for "never logged" checks.
/// </summary>
internal static class ConsoleCapture
{
    private static readonly ConcurrentQueue<string> Lines = new();
    private static readonly Lock Gate = new();
    private static bool _installed;

    public static void Install()
    {
        lock (Gate)
        {
            if (_installed)
            {
                return;
            }

            Console.SetOut(new Tee(Console.Out));
            _installed = true;
        }
    }

    public static string All => string.Join("\n", Lines);

    private sealed class Tee(TextWriter inner) : TextWriter
    {
        private readonly StringBuilder _line = new();

        public override Encoding Encoding => inner.Encoding;

        public override void Write(char value)
        {
            lock (_line)
            {
                if (value == '\n')
                {
                    Lines.Enqueue(_line.ToString());
                    _line.Clear();
                }
                else
                {
                    _line.Append(value);
                }
            }

            inner.Write(value);
        }

        public override void Write(string? value)
        {
            if (value is null)
            {
                return;
            }

            foreach (var c in value)
            {
                Write(c);
            }
        }
    }
}
