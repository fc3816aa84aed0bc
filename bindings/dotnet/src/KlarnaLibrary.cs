// TraceSource.TraceEvent is compiled only where TRACE is defined (whatever the build flags).
#define TRACE

using System;
using System.Diagnostics;
using System.Reflection;
using System.Runtime.CompilerServices;

[assembly: AssemblyTitle("KlarnaPos")]
[assembly: AssemblyDescription("Klarna in-store payments for point-of-sale tills: .NET binding of the klarna_pos library")]
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

        /// <summary>This binding's version, "MAJOR.MINOR.PATCH" (Cargo.toml's, written by the
        /// build into BindingVersion.g.cs).</summary>
        public static string BindingVersion
        {
            get { return KlarnaPos.BindingVersion.Value; }
        }

        private static readonly object VersionLock = new object();
        private static bool versionChecked;

        /// <summary>Refuses a native library whose major version differs from this binding's (an
        /// incompatible ABI): throws KlarnaInvalidArgumentException naming both versions. Every
        /// KlarnaClient constructor and QR rendering call it first.</summary>
        public static void EnsureCompatible()
        {
            lock (VersionLock)
            {
                if (versionChecked)
                    return;
                string why = VersionMismatch(Native.kpos_version_number(), KlarnaPos.BindingVersion.Value);
                if (why != null)
                    throw KlarnaException.Local(KlarnaException.InvalidArgumentCode, why, null);
                versionChecked = true;
            }
        }

        /// <summary>Why a library of version number <paramref name="library"/>
        /// (kpos_version_number(): MAJOR * 10000 + MINOR * 100 + PATCH) cannot serve a binding of
        /// version <paramref name="binding"/> ("MAJOR.MINOR.PATCH"); null when the majors agree.</summary>
        internal static string VersionMismatch(uint library, string binding)
        {
            uint major = uint.Parse(binding.Split('.')[0], System.Globalization.CultureInfo.InvariantCulture);
            if (library / 10000 == major)
                return null;
            string dotted = (library / 10000) + "." + (library / 100 % 100) + "." + (library % 100);
            return "the klarna_pos library is version " + dotted + " but the KlarnaPos binding is version " +
                binding + ": their major versions differ, so their ABIs are incompatible";
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
                chosenByCaller = true;
            }
        }

        /// <summary>The TraceSource the library logs to, named "KlarnaPos", unless SetLogCallback
        /// was called. Its switch level (from app.config's system.diagnostics section, or set in
        /// code) is read whenever a KlarnaClient is created, or by SyncTraceSource; Off (the
        /// default) installs nothing.</summary>
        public static readonly TraceSource Log = new TraceSource("KlarnaPos");

        private static bool chosenByCaller;
        private static uint tracedLevel;

        /// <summary>Forwards the library's log to <see cref="Log"/> at its switch's current
        /// level. Does nothing once SetLogCallback was called.</summary>
        public static void SyncTraceSource()
        {
            lock (LogLock)
            {
                if (chosenByCaller)
                    return;
                SourceLevels levels = Log.Switch.Level;
                uint level;
                if (levels == SourceLevels.All)
                    level = (uint)KlarnaLogLevel.Trace;
                else if ((levels & SourceLevels.Verbose) == SourceLevels.Verbose)
                    level = (uint)KlarnaLogLevel.Debug;
                else if ((levels & SourceLevels.Information) == SourceLevels.Information)
                    level = (uint)KlarnaLogLevel.Info;
                else if ((levels & SourceLevels.Warning) == SourceLevels.Warning)
                    level = (uint)KlarnaLogLevel.Warn;
                else if ((levels & SourceLevels.Error) == SourceLevels.Error)
                    level = (uint)KlarnaLogLevel.Error;
                else
                    level = 0;
                if (level == tracedLevel)
                    return;
                Native.LogCallback callback = null;
                if (level != 0)
                {
                    callback = (userdata, lvl, message) =>
                    {
                        try
                        {
                            Log.TraceEvent(EventTypeOf((KlarnaLogLevel)lvl), 0, Utf8.FromNative(message));
                        }
                        catch (Exception)
                        {
                        }
                    };
                }
                KlarnaException.Check(Native.kpos_set_log_callback(callback, IntPtr.Zero, level == 0 ? 1u : level));
                installedCallback = callback;
                tracedLevel = level;
            }
        }

        private static TraceEventType EventTypeOf(KlarnaLogLevel level)
        {
            switch (level)
            {
                case KlarnaLogLevel.Error: return TraceEventType.Error;
                case KlarnaLogLevel.Warn: return TraceEventType.Warning;
                case KlarnaLogLevel.Info: return TraceEventType.Information;
                default: return TraceEventType.Verbose;
            }
        }
    }
}
