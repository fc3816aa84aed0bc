// The C ABI of include/klarna_pos.h as P/Invoke declarations, and UTF-8 string marshalling.
// Nothing else in the assembly declares a function of klarna_pos (NativeLoader declares the
// Windows loader's LoadLibraryW): adding a C function is one declaration here plus one method
// on the class that uses it.

using System;
using System.Runtime.InteropServices;
using System.Text;

namespace KlarnaPos
{
    internal static class Native
    {
        // Resolved as libklarna_pos.so / klarna_pos.dll / libklarna_pos.dylib by the runtime;
        // on Windows the DLL of the process's bitness is loaded first when the application
        // carries both (NativeLoader).
        private const string Library = "klarna_pos";

        static Native()
        {
            NativeLoader.LoadForProcess();
        }

        [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
        internal delegate void LogCallback(IntPtr userdata, uint level, IntPtr message);

        [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
        internal delegate void StatusListener(IntPtr userdata, IntPtr session, uint status);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern IntPtr kpos_version();

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint kpos_version_number();

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern void kpos_string_free(IntPtr s);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint kpos_client_new(byte[] configJson, out ClientHandle client);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern void kpos_client_free(IntPtr client);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern IntPtr kpos_result_name(uint code);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern IntPtr kpos_result_text(uint code);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint kpos_result_action(uint code);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint kpos_last_error_code();

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern IntPtr kpos_last_error_message();

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern IntPtr kpos_last_error_json();

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern IntPtr kpos_last_error_field();

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern IntPtr kpos_last_error_klarna_code();

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern IntPtr kpos_last_error_correlation_id();

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint kpos_last_error_http_status();

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint kpos_last_error_retry_after_ms();

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint kpos_set_log_callback(LogCallback cb, IntPtr userdata, uint maxLevel);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint kpos_session_create(ClientHandle client, byte[] orderJson, out SessionHandle session);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint kpos_session_resume(ClientHandle client, byte[] sessionId, byte[] resultUrl, out SessionHandle session);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern IntPtr kpos_session_id(SessionHandle s);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern IntPtr kpos_session_result_url(SessionHandle s);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint kpos_session_status(SessionHandle s);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint kpos_session_poll(SessionHandle s, out uint status);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint kpos_session_wait(SessionHandle s, uint timeoutMs, ref uint status);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern IntPtr kpos_session_qr_url(SessionHandle s);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern IntPtr kpos_session_payment_link(SessionHandle s);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern IntPtr kpos_session_order_id(SessionHandle s);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint kpos_session_failure(SessionHandle s);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint kpos_session_cancel(SessionHandle s);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern void kpos_session_free(IntPtr s);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern IntPtr kpos_status_name(uint status);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern int kpos_status_is_terminal(uint status);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern IntPtr kpos_status_display_text(uint status);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern IntPtr kpos_status_display_text_for(uint status, byte[] language);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern IntPtr kpos_status_customer_text_for(uint status, byte[] language);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint kpos_session_watch(SessionHandle s, StatusListener cb, IntPtr userdata);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern void kpos_bytes_free(IntPtr p, UIntPtr len);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint kpos_order_get(ClientHandle client, byte[] orderId, out IntPtr orderJson);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint kpos_order_capture(ClientHandle client, byte[] orderId, byte[] captureJson, byte[] idempotencyKey, out IntPtr captureId);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint kpos_order_refund(ClientHandle client, byte[] orderId, byte[] refundJson, byte[] idempotencyKey, out IntPtr refundId);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint kpos_order_cancel(ClientHandle client, byte[] orderId, byte[] idempotencyKey);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint kpos_order_release_remaining_authorization(ClientHandle client, byte[] orderId, byte[] idempotencyKey);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint kpos_journal_pending(ClientHandle client, out IntPtr json);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint kpos_history_report(ClientHandle client, byte[] from, byte[] to, out IntPtr reportJson);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint kpos_history_find(ClientHandle client, byte[] merchantReference, out IntPtr recordsJson);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint kpos_session_receipt_text(SessionHandle s, byte[] language, out IntPtr text);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint kpos_client_check(ClientHandle client, out IntPtr reportJson);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint kpos_qr_render(byte[] text, uint format, out IntPtr bytes, out UIntPtr length);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint kpos_webhook_verify(ClientHandle client, byte[] target, UIntPtr targetLength, byte[] body, UIntPtr bodyLength, out IntPtr sessionId, out uint status);
    }

    /// <summary>UTF-8 both ways, by hand: the runtime's default string marshalling uses the
    /// ANSI code page on .NET Framework and Mono, which would garble non-ASCII text.</summary>
    internal static class Utf8
    {
        private static readonly UTF8Encoding Strict = new UTF8Encoding(false, true);

        /// <summary>A NUL-terminated UTF-8 copy of <paramref name="text"/> for a const char *
        /// parameter, or null (a NULL pointer) for null.</summary>
        internal static byte[] ToNative(string text, string what)
        {
            if (text == null)
                return null;
            if (text.IndexOf('\0') >= 0)
                throw KlarnaException.Local(KlarnaException.InvalidArgumentCode, what + " contains a NUL character", what);
            byte[] encoded;
            try
            {
                encoded = Strict.GetBytes(text);
            }
            catch (EncoderFallbackException)
            {
                // A lone surrogate has no UTF-8 form.
                throw KlarnaException.Local(KlarnaException.InvalidArgumentCode, what + " is not valid Unicode text", what);
            }
            var terminated = new byte[encoded.Length + 1];
            Buffer.BlockCopy(encoded, 0, terminated, 0, encoded.Length);
            return terminated;
        }

        /// <summary>A managed copy of a NUL-terminated UTF-8 string the library owns, or null for
        /// NULL.</summary>
        internal static string FromNative(IntPtr text)
        {
            if (text == IntPtr.Zero)
                return null;
            int length = 0;
            while (Marshal.ReadByte(text, length) != 0)
                length++;
            var bytes = new byte[length];
            Marshal.Copy(text, bytes, 0, length);
            return Encoding.UTF8.GetString(bytes);
        }

        /// <summary>A managed copy of a string the library returned through a char **
        /// out-parameter; the library's copy is released with kpos_string_free.</summary>
        internal static string TakeOwned(IntPtr text)
        {
            try
            {
                return FromNative(text);
            }
            finally
            {
                Native.kpos_string_free(text);
            }
        }

        /// <summary>A managed copy of bytes the library returned through a uint8_t ** / size_t *
        /// pair; the library's buffer is released with kpos_bytes_free.</summary>
        internal static byte[] TakeBytes(IntPtr bytes, UIntPtr length)
        {
            try
            {
                if (bytes == IntPtr.Zero)
                    return new byte[0];
                var copy = new byte[checked((int)length.ToUInt64())];
                Marshal.Copy(bytes, copy, 0, copy.Length);
                return copy;
            }
            finally
            {
                Native.kpos_bytes_free(bytes, length);
            }
        }
    }
}
