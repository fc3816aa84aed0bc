using System;
using System.Reflection;
using System.Runtime.CompilerServices;

[assembly: AssemblyTitle("KlarnaPos")]
[assembly: AssemblyDescription("Klarna in-store payments for point-of-sale tills: .NET binding of the klarna_pos library")]
[assembly: AssemblyVersion("0.1.0.0")]
[assembly: InternalsVisibleTo("KlarnaPosTests")]

namespace KlarnaPos
{
    /// <summary>Log levels (KPOS_LOG_*).</summary>
    public enum KlarnaLogLevel : uint
    {
        /// <summary>Errors the till should know about.</summary>
        Error = 1,
        /// <summary>Unexpected but handled situations (retries, unknown statuses).</summary>
        Warn = 2,
        /// <summary>One line per session step and failed request.</summary>
        Info = 3,
        /// <summary>One line per HTTP request.</summary>
        Debug = 4,
        /// <summary>Everything, including personal data from orders. Never in production by default.</summary>
        Trace = 5,
    }

    /// <summary>Process-wide facts and settings of the native library.</summary>
    public static class KlarnaLibrary
    {
        private static readonly object LogLock = new object();
        // Kept reachable while installed: the library holds a pointer to it, which the garbage
        // collector cannot see (never read, hence warning 414).
#pragma warning disable 414
        private static Native.LogCallback installedCallback;
#pragma warning restore 414

        /// <summary>The native library's version, "MAJOR.MINOR.PATCH".</summary>
        public static string Version
        {
            get { return Utf8.FromNative(Native.kpos_version()); }
        }

        /// <summary>The name of a result code, e.g. "KPOS_E_BAD_REQUEST".</summary>
        public static string ResultName(uint code)
        {
            return Utf8.FromNative(Native.kpos_result_name(code));
        }

        /// <summary>One English sentence describing a result code.</summary>
        public static string ResultText(uint code)
        {
            return Utf8.FromNative(Native.kpos_result_text(code));
        }

        /// <summary>Sends the library's log lines up to <paramref name="maxLevel"/> to
        /// <paramref name="log"/>, which may be called from any thread, concurrently; null stops
        /// logging. Credentials are never logged; personal data only at Trace. Exceptions thrown by
        /// <paramref name="log"/> are swallowed (they must not unwind into the library).</summary>
        public static void SetLogCallback(Action<KlarnaLogLevel, string> log, KlarnaLogLevel maxLevel = KlarnaLogLevel.Info)
        {
            lock (LogLock)
            {
                Native.LogCallback callback = null;
                if (log != null)
                {
                    callback = (userdata, level, message) =>
                    {
                        try
                        {
                            log((KlarnaLogLevel)level, Utf8.FromNative(message));
                        }
                        catch (Exception)
                        {
                        }
                    };
                }
                KlarnaException.Check(Native.kpos_set_log_callback(callback, IntPtr.Zero, (uint)maxLevel));
                installedCallback = callback;
            }
        }
    }
}
