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
        // one line buffer per thread: a log event is written by one thread in several calls, and several hosts
        // log at once, so a shared buffer would splice their lines together
        [ThreadStatic]
        private static StringBuilder? _line;

        public override Encoding Encoding => inner.Encoding;

        public override void Write(char value) => Append([value]);

        public override void Write(string? value) => Append(value);

        public override void Write(char[] buffer, int index, int count) => Append(buffer.AsSpan(index, count));

        public override void Write(ReadOnlySpan<char> buffer) => Append(buffer);

        public override void WriteLine(string? value) => Append((value ?? "") + "\n");

        private void Append(ReadOnlySpan<char> text)
        {
            var line = _line ??= new StringBuilder();
            foreach (var c in text)
            {
                if (c == '\n')
                {
                    Lines.Enqueue(line.ToString());
                    line.Clear();
                }
                else
                {
                    line.Append(c);
                }
            }

            inner.Write(text);
        }
    }
}
