using System.Runtime.InteropServices;

namespace Broker.ServiceDefaults.Reload;

/// <summary>
/// Makes SIGHUP reach Broker's reload handler even when the process was started with it ignored (<c>nohup broker</c>,
/// some supervisors): .NET leaves an inherited SIG_IGN in place and then never calls a <see cref="PosixSignalRegistration"/>
/// for that signal. A server takes SIGHUP as "re-read your config" whatever started it, so the ignored disposition is
/// put back to the default once per process, just before the handler is registered (which cancels the default action,
/// so the process still never ends on SIGHUP).
/// </summary>
internal static partial class HangupSignal
{
    private const int SigHup = 1;
    private static readonly nint SigDfl = 0;
    private static readonly nint SigIgn = 1;
    private static int _done;

    /// <summary>True when SIGHUP was ignored and is now back to its default (the caller logs it).</summary>
    public static bool StopIgnoring()
    {
        if (!OperatingSystem.IsLinux() || Interlocked.Exchange(ref _done, 1) == 1)
        {
            return false;
        }

        try
        {
            // signal() both sets and returns the previous disposition; anything but SIG_IGN is put back as it was
            var previous = Signal(SigHup, SigDfl);
            if (previous == SigIgn)
            {
                return true;
            }

            if (previous != SigDfl)
            {
                Signal(SigHup, previous);
            }

            return false;
        }
        catch (Exception ex) when (ex is DllNotFoundException or EntryPointNotFoundException)
        {
            return false;
        }
    }

    [LibraryImport("libc", EntryPoint = "signal")]
    private static partial nint Signal(int signal, nint handler);
}
