// Owns one of the library's handles: freed exactly once, by close() or, for a program that
// forgets it, by the Cleaner once its owner is unreachable; never while a call that uses it is
// still running (a close during another thread's await is carried out when the await returns).

package klarnapos;

import com.sun.jna.Pointer;
import java.lang.ref.Cleaner;
import java.util.function.Consumer;

final class Handle implements Runnable {
    static final Cleaner CLEANER = Cleaner.create();

    private final Consumer<Pointer> free;
    private final String what;
    private Pointer pointer;
    private int users;
    private boolean closed;

    Handle(Pointer pointer, Consumer<Pointer> free, String what) {
        this.pointer = pointer;
        this.free = free;
        this.what = what;
    }

    /** The pointer for one call; every acquire is followed by one release. Throws
     * IllegalStateException once closed. */
    synchronized Pointer acquire() {
        if (closed) {
            throw new IllegalStateException("the " + what + " is closed");
        }
        users++;
        return pointer;
    }

    void release() {
        Pointer toFree = null;
        synchronized (this) {
            users--;
            if (users == 0 && closed && pointer != null) {
                toFree = pointer;
                pointer = null;
            }
        }
        if (toFree != null) {
            free.accept(toFree);
        }
    }

    synchronized boolean isClosed() {
        return closed;
    }

    /** Marks the handle closed and frees it now, or when the last call using it returns. */
    @Override
    public void run() {
        Pointer toFree = null;
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
            if (users == 0) {
                toFree = pointer;
                pointer = null;
            }
        }
        if (toFree != null) {
            free.accept(toFree);
        }
    }
}
