package klarnapos;

import com.sun.jna.Pointer;

/** Process-wide facts and settings of the native library. */
public final class KlarnaLibrary {
    private KlarnaLibrary() {
    }

    private static final Object LOG_LOCK = new Object();
    // Kept reachable while installed: the library holds a pointer to it, which the garbage
    // collector cannot see.
    private static Ffi.LogCallback installed;

    /** The native library's version, "MAJOR.MINOR.PATCH". */
    public static String version() {
        return Ffi.string(Ffi.lib().kpos_version());
    }

    /** The native library's version as MAJOR * 10000 + MINOR * 100 + PATCH. */
    public static int versionNumber() {
        return Ffi.lib().kpos_version_number();
    }

    /** This binding's version, "MAJOR.MINOR.PATCH" (Cargo.toml's). The library is refused at load
     * (UnsatisfiedLinkError naming both) when its major version differs. */
    public static String bindingVersion() {
        return BindingVersion.VALUE;
    }

    /** Why a library of version number {@code library} (kpos_version_number()) cannot serve a
     * binding of version {@code binding} ("MAJOR.MINOR.PATCH"); null when the majors agree. */
    static String versionMismatch(int library, String binding) {
        int major = Integer.parseInt(binding.split("\\.")[0]);
        long number = library & 0xffffffffL;
        if (number / 10000 == major) {
            return null;
        }
        String dotted = (number / 10000) + "." + (number / 100 % 100) + "." + (number % 100);
        return "klarnapos: the klarna_pos library is version " + dotted + " but the Java binding is version "
                + binding + ": their major versions differ, so their ABIs are incompatible. Install matching versions.";
    }

    /** The name of a result code, e.g. "KPOS_E_BAD_REQUEST". */
    public static String resultName(int code) {
        return Ffi.string(Ffi.lib().kpos_result_name(code));
    }

    /** One English sentence describing a result code. */
    public static String resultText(int code) {
        return Ffi.string(Ffi.lib().kpos_result_text(code));
    }

    /** What to do about a result code. */
    public static KlarnaAction resultAction(int code) {
        return KlarnaAction.of(Ffi.lib().kpos_result_action(code));
    }

    /**
     * Sends the library's log lines up to {@code maxLevel} to {@code listener}, which may be
     * called from any thread, concurrently; null stops logging. Credentials are never logged;
     * personal data only at TRACE. Exceptions thrown by the listener are dropped (they must not
     * unwind into the library). When this returns, the previous listener is not running and
     * will not be called again.
     */
    public static void setLogListener(LogListener listener, LogLevel maxLevel) {
        synchronized (LOG_LOCK) {
            Ffi.LogCallback callback = null;
            if (listener != null) {
                callback = (Pointer userdata, int level, Pointer message) -> {
                    try {
                        listener.log(LogLevel.of(level), Ffi.string(message));
                    } catch (Throwable ignored) {
                        // Nothing may unwind into the library.
                    }
                };
            }
            KlarnaException.check(Ffi.lib().kpos_set_log_callback(callback, null,
                    maxLevel == null ? LogLevel.INFO.code() : maxLevel.code()));
            installed = callback;
        }
    }
}
