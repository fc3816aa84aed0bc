package klarnapos;

/** Log levels (KPOS_LOG_*). */
public enum LogLevel {
    /** Errors the till should know about. */
    ERROR(1),
    /** Unexpected but handled situations (retries, unknown statuses). */
    WARN(2),
    /** One line per session step and failed request. */
    INFO(3),
    /** One line per HTTP request (method, URL without query, status, time, correlation id). */
    DEBUG(4),
    /** Everything, including personal data from orders. Never in production by default. */
    TRACE(5);

    private final int code;

    LogLevel(int code) {
        this.code = code;
    }

    /** The KPOS_LOG_* number. */
    public int code() {
        return code;
    }

    static LogLevel of(int code) {
        for (LogLevel l : values()) {
            if (l.code == code) {
                return l;
            }
        }
        return TRACE;
    }
}
