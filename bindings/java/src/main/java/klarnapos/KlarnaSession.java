package klarnapos;

import com.sun.jna.Pointer;
import com.sun.jna.ptr.IntByReference;
import com.sun.jna.ptr.PointerByReference;
import java.lang.ref.Cleaner;
import java.lang.ref.Reference;
import java.time.Duration;
import java.util.function.Function;

/**
 * One in-store payment, from {@link KlarnaClient#createSession} or
 * {@link KlarnaClient#resumeSession}. Use it from one thread at a time, except
 * {@link #cancel()}, which any thread may call at any moment (it wakes an {@link #await} in
 * progress). {@link #close()} releases it without cancelling the payment at Klarna; afterwards
 * every method but id() and resultUrl() throws IllegalStateException.
 */
public final class KlarnaSession implements AutoCloseable {
    /** The native listener of a watch, kept reachable while the library may call it. */
    private static final class Watch {
        private Ffi.StatusListener callback;

        synchronized void set(Ffi.StatusListener callback) {
            this.callback = callback;
        }

        synchronized Ffi.StatusListener get() {
            return callback;
        }

        /** Ends the watch on our side, if {@code callback} is still the current one. */
        synchronized void endIf(Ffi.StatusListener callback) {
            if (this.callback == callback) {
                this.callback = null;
            }
        }
    }

    private final Handle handle;
    private final Cleaner.Cleanable cleanable;
    private final Watch watch = new Watch();
    private final String id;
    private final String resultUrl;

    KlarnaSession(Pointer session) {
        Ffi.Api lib = Ffi.lib();
        Watch w = watch;
        // After kpos_session_free returns, the listener is not running and never runs again.
        handle = new Handle(session, p -> {
            lib.kpos_session_free(p);
            w.set(null);
        }, "KlarnaSession");
        cleanable = Handle.CLEANER.register(this, handle);
        String sid = Ffi.string(lib.kpos_session_id(session));
        String url = Ffi.string(lib.kpos_session_result_url(session));
        id = sid == null ? "" : sid;
        resultUrl = url == null ? "" : url;
    }

    private <T> T call(Function<Pointer, T> body) {
        Pointer session = handle.acquire();
        try {
            return body.apply(session);
        } finally {
            handle.release();
        }
    }

    /** Klarna's session id. */
    public String id() {
        return id;
    }

    /** The status URL; keep it with id() to resume after a restart. */
    public String resultUrl() {
        return resultUrl;
    }

    /** The last known status, without network traffic. */
    public SessionStatus status() {
        return call(s -> SessionStatus.of(Ffi.lib().kpos_session_status(s)));
    }

    /** The QR code image URL to show; null until the session is distributed. */
    public String qrUrl() {
        return call(s -> Ffi.string(Ffi.lib().kpos_session_qr_url(s)));
    }

    /** The payment link for the customer's phone; null if Klarna gave none. */
    public String paymentLink() {
        return call(s -> Ffi.string(Ffi.lib().kpos_session_payment_link(s)));
    }

    /** Klarna's order id once the payment COMPLETED (for capture, refund, cancel); else null. */
    public String orderId() {
        return call(s -> Ffi.string(Ffi.lib().kpos_session_order_id(s)));
    }

    /** Why a FAILED session failed (KlarnaBadRequestException, KlarnaPermissionDeniedException
     * or KlarnaUnknownException with Klarna's detail, returned, not thrown); null when it has not
     * failed. */
    public KlarnaException failure() {
        return call(s -> {
            int code = Ffi.lib().kpos_session_failure(s);
            return code == 0 ? null : KlarnaException.fromLastError(code);
        });
    }

    /**
     * The receipt lines of a COMPLETED payment (kpos_session_receipt_text) in {@code language}
     * (a BCP 47 tag; English when null or unknown): paid with Klarna, amount and currency,
     * Klarna's order id, date and time, merchant reference; separated by "\n", each at most 42
     * characters. Throws KlarnaConflictException when the session is not COMPLETED.
     */
    public String receiptText(String language) {
        byte[] tag = Ffi.utf8(language, "language");
        PointerByReference out = new PointerByReference();
        return call(s -> {
            KlarnaException.check(Ffi.lib().kpos_session_receipt_text(s, tag, out));
            return Ffi.takeOwned(out.getValue());
        });
    }

    /** Reads the status once from Klarna. */
    public SessionStatus poll() {
        IntByReference status = new IntByReference();
        return call(s -> {
            KlarnaException.check(Ffi.lib().kpos_session_poll(s, status));
            return SessionStatus.of(status.getValue());
        });
    }

    /**
     * Blocks until the status differs from the one last returned by poll() or await(), or is
     * terminal, and returns it. Throws KlarnaTimeoutException when {@code timeout} passes
     * (lastStatus() is the last known status), and KlarnaCancelledException when cancel() is
     * called meanwhile from another thread (unless Klarna reports the payment completed, which
     * wins and is returned).
     */
    public SessionStatus await(Duration timeout) {
        if (timeout.isNegative()) {
            throw new IllegalArgumentException("the timeout must not be negative");
        }
        long ms;
        try {
            ms = timeout.toMillis() + (timeout.minusMillis(timeout.toMillis()).isZero() ? 0 : 1);
        } catch (ArithmeticException e) {
            ms = Long.MAX_VALUE;
        }
        int millis = (int) Math.min(ms, 0xffffffffL); // uint32_t
        IntByReference status = new IntByReference(SessionStatus.UNKNOWN.code());
        return call(s -> {
            int code = Ffi.lib().kpos_session_wait(s, millis, status);
            if (code == KlarnaException.TIMEOUT) {
                KlarnaException e = KlarnaException.fromLastError(code);
                if (e instanceof KlarnaTimeoutException) {
                    ((KlarnaTimeoutException) e).setLastStatus(SessionStatus.of(status.getValue()));
                }
                throw e;
            }
            KlarnaException.check(code);
            return SessionStatus.of(status.getValue());
        });
    }

    /**
     * Cancels the payment at Klarna and wakes an await on another thread. Callable from any
     * thread at any moment; idempotent. Throws KlarnaConflictException once the payment
     * completed (refund it instead; status() is then COMPLETED). Ends a watch after its final
     * call (CANCELED, or COMPLETED).
     */
    public void cancel() {
        int code = call(s -> Ffi.lib().kpos_session_cancel(s));
        // When kpos_session_cancel returns, a watch has ended (after its final call, or without
        // one when the cancel failed).
        watch.set(null);
        KlarnaException.check(code);
    }

    /**
     * Follows the session in the background (kpos_session_watch): {@code listener} hears the
     * current status at once, then each change in order, the last time with the final status
     * (COMPLETED, CANCELED, FAILED or EXPIRED). It runs on the library's listener thread, one
     * call at a time for the whole process: return quickly (e.g. hand the status to the UI
     * thread). An exception it throws goes to its thread's uncaught exception handler, never
     * into the library. Watching again replaces the listener; {@code null}, {@link #unwatch()}
     * and {@link #close()} end the watch without a final call, {@link #cancel()} after it. While
     * watched, the session is not garbage collected.
     */
    public void watch(StatusListener listener) {
        if (listener == null) {
            unwatch();
            return;
        }
        Ffi.StatusListener[] self = new Ffi.StatusListener[1];
        Ffi.StatusListener callback = (Pointer userdata, Pointer session, int number) -> {
            SessionStatus status = SessionStatus.of(number);
            try {
                listener.onStatus(this, status);
            } catch (Throwable t) {
                Thread current = Thread.currentThread();
                try {
                    current.getUncaughtExceptionHandler().uncaughtException(current, t);
                } catch (Throwable ignored) {
                    // Nothing may unwind into the library.
                }
            }
            if (status.isTerminal()) {
                watch.endIf(self[0]);
            }
        };
        self[0] = callback;
        Ffi.StatusListener previous = watch.get();
        watch.set(callback);
        try {
            int code = call(s -> Ffi.lib().kpos_session_watch(s, callback, null));
            if (code != 0) {
                watch.endIf(callback);
                throw KlarnaException.fromLastError(code);
            }
        } finally {
            // The library ended the previous listener before installing this one.
            Reference.reachabilityFence(previous);
        }
    }

    /** Ends a watch without a final call: when it returns, the listener is not running and will
     * not run again. Does nothing when the session is not watched. */
    public void unwatch() {
        Ffi.StatusListener previous = watch.get();
        call(s -> {
            KlarnaException.check(Ffi.lib().kpos_session_watch(s, null, null));
            return null;
        });
        watch.endIf(previous);
        Reference.reachabilityFence(previous);
    }

    /** True once close() was called. */
    public boolean isClosed() {
        return handle.isClosed();
    }

    /** Releases the native session (does not cancel the payment at Klarna), once no call on
     * another thread uses it; ends a watch without a final call. Idempotent. */
    @Override
    public void close() {
        cleanable.clean();
    }

    /** "KlarnaSession id STATUS". */
    @Override
    public String toString() {
        if (handle.isClosed()) {
            return "KlarnaSession " + id + " (closed)";
        }
        return "KlarnaSession " + id + " " + status().nativeName();
    }
}
