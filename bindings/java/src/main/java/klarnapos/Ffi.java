// The C ABI of include/klarna_pos.h as JNA declarations, the loading of the library, and UTF-8
// string marshalling. Nothing else in the package declares a native function: adding a C
// function is one declaration in Ffi.Api plus one method on the class that uses it.

package klarnapos;

import com.sun.jna.Callback;
import com.sun.jna.IntegerType;
import com.sun.jna.Library;
import com.sun.jna.Pointer;
import com.sun.jna.ptr.ByReference;
import com.sun.jna.ptr.IntByReference;
import com.sun.jna.ptr.PointerByReference;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.Collections;

final class Ffi {
    private Ffi() {
    }

    /** The system property naming the library file (or a name JNA searches for). */
    static final String LIBRARY_PROPERTY = "klarnapos.library";
    /** The environment variable naming the library file, read when the property is not set. */
    static final String LIBRARY_ENV = "KLARNA_POS_LIBRARY";

    /** size_t: 4 or 8 bytes, as the platform has it. */
    public static final class SizeT extends IntegerType {
        private static final long serialVersionUID = 1L;

        public SizeT() {
            this(0);
        }

        public SizeT(long value) {
            super(com.sun.jna.Native.SIZE_T_SIZE, value, true);
        }
    }

    /** size_t *, for an out-parameter. */
    public static final class SizeTByReference extends ByReference {
        public SizeTByReference() {
            super(com.sun.jna.Native.SIZE_T_SIZE);
            if (com.sun.jna.Native.SIZE_T_SIZE == 8) {
                getPointer().setLong(0, 0);
            } else {
                getPointer().setInt(0, 0);
            }
        }

        long getValue() {
            return com.sun.jna.Native.SIZE_T_SIZE == 8
                    ? getPointer().getLong(0)
                    : getPointer().getInt(0) & 0xffffffffL;
        }
    }

    /** kpos_log_callback. */
    public interface LogCallback extends Callback {
        void invoke(Pointer userdata, int level, Pointer message);
    }

    /** kpos_status_listener. */
    public interface StatusListener extends Callback {
        void invoke(Pointer userdata, Pointer session, int status);
    }

    /**
     * Every function of the header. uint32_t is int (read as unsigned where it matters),
     * const char * arguments are NUL-terminated UTF-8 byte arrays, returned strings Pointers
     * (decoded as UTF-8 here, never by JNA's platform encoding), handles Pointers.
     */
    public interface Api extends Library {
        Pointer kpos_version();

        int kpos_version_number();

        void kpos_string_free(Pointer s);

        void kpos_bytes_free(Pointer p, SizeT len);

        int kpos_client_check(Pointer client, PointerByReference reportJson);

        int kpos_client_new(byte[] configJson, PointerByReference out);

        void kpos_client_free(Pointer client);

        Pointer kpos_result_name(int code);

        Pointer kpos_result_text(int code);

        int kpos_result_action(int code);

        int kpos_last_error_code();

        Pointer kpos_last_error_message();

        Pointer kpos_last_error_json();

        Pointer kpos_last_error_field();

        Pointer kpos_last_error_klarna_code();

        Pointer kpos_last_error_correlation_id();

        int kpos_last_error_http_status();

        int kpos_last_error_retry_after_ms();

        int kpos_journal_pending(Pointer client, PointerByReference jsonOut);

        int kpos_set_log_callback(LogCallback cb, Pointer userdata, int maxLevel);

        int kpos_order_get(Pointer client, byte[] orderId, PointerByReference orderJsonOut);

        int kpos_order_capture(Pointer client, byte[] orderId, byte[] captureJson, byte[] idempotencyKey,
                PointerByReference captureIdOut);

        int kpos_order_refund(Pointer client, byte[] orderId, byte[] refundJson, byte[] idempotencyKey,
                PointerByReference refundIdOut);

        int kpos_order_cancel(Pointer client, byte[] orderId, byte[] idempotencyKey);

        int kpos_order_release_remaining_authorization(Pointer client, byte[] orderId, byte[] idempotencyKey);

        int kpos_qr_render(byte[] text, int format, PointerByReference out, SizeTByReference len);

        int kpos_session_create(Pointer client, byte[] orderJson, PointerByReference out);

        int kpos_session_resume(Pointer client, byte[] sessionId, byte[] resultUrl, PointerByReference out);

        Pointer kpos_session_id(Pointer s);

        Pointer kpos_session_result_url(Pointer s);

        int kpos_session_status(Pointer s);

        int kpos_session_poll(Pointer s, IntByReference statusOut);

        int kpos_session_wait(Pointer s, int timeoutMs, IntByReference statusOut);

        Pointer kpos_session_qr_url(Pointer s);

        Pointer kpos_session_payment_link(Pointer s);

        Pointer kpos_session_order_id(Pointer s);

        int kpos_session_failure(Pointer s);

        int kpos_session_cancel(Pointer s);

        void kpos_session_free(Pointer s);

        Pointer kpos_status_name(int status);

        int kpos_status_is_terminal(int status);

        Pointer kpos_status_display_text(int status);

        int kpos_session_watch(Pointer s, StatusListener cb, Pointer userdata);

        Pointer kpos_status_display_text_for(int status, byte[] language);

        Pointer kpos_status_customer_text_for(int status, byte[] language);

        int kpos_history_report(Pointer client, byte[] from, byte[] to, PointerByReference reportJson);

        int kpos_history_find(Pointer client, byte[] merchantReference, PointerByReference recordsJson);

        int kpos_session_receipt_text(Pointer s, byte[] language, PointerByReference text);

        int kpos_webhook_verify(Pointer client, byte[] target, SizeT targetLen, byte[] body, SizeT bodyLen,
                PointerByReference sessionIdOut, IntByReference statusOut);
    }

    private static volatile Api loaded;
    private static String refused;

    /**
     * The library, loaded on first use: the file named by the system property
     * {@value #LIBRARY_PROPERTY}, else by the environment variable {@value #LIBRARY_ENV}, else
     * "klarna_pos" as JNA searches for it (jna.library.path, the system's library path). A
     * library whose major version differs from this binding's is refused with an
     * UnsatisfiedLinkError naming both versions, then and on every later call.
     */
    static Api lib() {
        Api api = loaded;
        return api != null ? api : load();
    }

    private static synchronized Api load() {
        if (loaded != null) {
            return loaded;
        }
        if (refused != null) {
            throw new UnsatisfiedLinkError(refused);
        }
        String name = System.getProperty(LIBRARY_PROPERTY);
        if (name == null || name.isEmpty()) {
            name = System.getenv(LIBRARY_ENV);
        }
        if (name == null || name.isEmpty()) {
            name = "klarna_pos";
        }
        Api api = com.sun.jna.Native.load(name, Api.class,
                Collections.singletonMap(Library.OPTION_STRING_ENCODING, "UTF-8"));
        String why = KlarnaLibrary.versionMismatch(api.kpos_version_number(), BindingVersion.VALUE);
        if (why != null) {
            refused = why;
            throw new UnsatisfiedLinkError(why);
        }
        loaded = api;
        return api;
    }

    /**
     * A NUL-terminated UTF-8 copy of {@code text} for a const char * argument, or null (a NULL
     * pointer) for null. A NUL character or a lone surrogate is refused with
     * KlarnaInvalidArgumentException naming {@code what}.
     */
    static byte[] utf8(String text, String what) {
        if (text == null) {
            return null;
        }
        if (text.indexOf('\0') >= 0) {
            throw KlarnaException.local(KlarnaException.INVALID_ARGUMENT, what + " contains a NUL character", what);
        }
        ByteBuffer encoded;
        try {
            encoded = StandardCharsets.UTF_8.newEncoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .encode(CharBuffer.wrap(text));
        } catch (CharacterCodingException e) {
            throw KlarnaException.local(KlarnaException.INVALID_ARGUMENT, what + " is not valid Unicode text", what);
        }
        byte[] terminated = new byte[encoded.remaining() + 1];
        encoded.get(terminated, 0, terminated.length - 1);
        return terminated;
    }

    /** A Java copy of a NUL-terminated UTF-8 string the library owns, or null for NULL. */
    static String string(Pointer text) {
        return text == null ? null : text.getString(0, "UTF-8");
    }

    /** A Java copy of a string returned through a char ** out-parameter; the library's copy is
     * released with kpos_string_free. */
    static String takeOwned(Pointer text) {
        try {
            return string(text);
        } finally {
            if (text != null) {
                lib().kpos_string_free(text);
            }
        }
    }

    /** A Java copy of bytes returned through a uint8_t ** / size_t * pair; the library's buffer
     * is released with kpos_bytes_free. */
    static byte[] takeBytes(Pointer bytes, long length) {
        try {
            if (bytes == null) {
                return new byte[0];
            }
            if (length > Integer.MAX_VALUE) {
                throw new IllegalStateException("the library returned " + length + " bytes");
            }
            return bytes.getByteArray(0, (int) length);
        } finally {
            if (bytes != null) {
                lib().kpos_bytes_free(bytes, new SizeT(length));
            }
        }
    }
}
