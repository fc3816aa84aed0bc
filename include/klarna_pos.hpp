/*
 * klarna_pos.hpp: C++11 RAII layer over klarna_pos.h, header-only.
 *
 *   #include "klarna_pos.hpp"
 *
 *   klarna_pos::client client = klarna_pos::client::from_env();   // or client(config_json)
 *   klarna_pos::session session = client.create_session(order_json);
 *   klarna_pos::status s = session.wait(std::chrono::seconds(30));  // throws on KPOS_E_TIMEOUT
 *
 * Objects own their handles through std::unique_ptr with the library's free functions, and are
 * movable, not copyable. Every failing call throws klarna_pos::error, carrying the code and the
 * detail of the kpos_last_error_* getters (message, HTTP status, Klarna's error code,
 * correlation id, offending field). Creating a client first refuses a library whose major
 * version differs from this header's (check_library_version()). Strings are std::string in UTF-8, both ways; a getter whose C function
 * returns NULL gives "". Thread-safety is the C library's: a client may be shared by threads; a
 * session is used by one thread at a time, except cancel(), which any thread may call. After the
 * sale, the client reads and changes orders (get_order, capture, refund, cancel_order,
 * release_remaining_authorization), lists its journal (journal_pending) and verifies webhook
 * calls (webhook_verify); qr_render() draws a QR code locally; display_text() and
 * customer_text() give the cashier's and the customer's text for a status, in their language;
 * session::watch() calls a function on each status change. For what this header does not wrap
 * yet (the log callback), call the C functions directly.
 */

#ifndef KLARNA_POS_HPP
#define KLARNA_POS_HPP

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "klarna_pos.h"

namespace klarna_pos {

/** Session status, with the numbers of KPOS_STATUS_*. */
enum class status : std::uint32_t {
    created = KPOS_STATUS_CREATED,
    waiting = KPOS_STATUS_WAITING,
    distributed = KPOS_STATUS_DISTRIBUTED,
    accessed = KPOS_STATUS_ACCESSED,
    completed = KPOS_STATUS_COMPLETED,
    canceled = KPOS_STATUS_CANCELED,
    failed = KPOS_STATUS_FAILED,
    expired = KPOS_STATUS_EXPIRED,
    unknown = KPOS_STATUS_UNKNOWN
};

/** The status name, e.g. "COMPLETED"; "UNKNOWN" for a number this version does not know. */
inline std::string status_name(status s) { return kpos_status_name(static_cast<std::uint32_t>(s)); }

/** True for completed, canceled, failed and expired: the session never moves again. */
inline bool is_terminal(status s) { return kpos_status_is_terminal(static_cast<std::uint32_t>(s)) != 0; }

/** The English text Klarna's in-store best practices recommend showing the cashier for a
 *  status: distributed "Scan the QR code with your phone", accessed "Payment in progress",
 *  completed "Payment is done", failed "Something went wrong" (show the session id next to it),
 *  ...; unknown "Checking the payment status...". */
inline std::string display_text(status s) { return kpos_status_display_text(static_cast<std::uint32_t>(s)); }

/** The cashier's text for a status in `language`, a BCP 47 tag ("sv", "sv-SE", "nb-NO",
 *  "de-AT", ...; case-insensitive): the region's text, else the language's, else English. Fits
 *  two lines of 20 characters. */
inline std::string display_text(status s, const std::string &language)
{
    return kpos_status_display_text_for(static_cast<std::uint32_t>(s), language.c_str());
}

/** The customer's text for a status in `language` (as for display_text): distributed "Scan the
 *  QR code with your phone camera", accessed "Confirm in the Klarna app", completed "Payment
 *  approved. Thank you!", ...; "" is English. Fits two lines of 32 characters. */
inline std::string customer_text(status s, const std::string &language = std::string())
{
    return kpos_status_customer_text_for(static_cast<std::uint32_t>(s), language.c_str());
}

/** The library's version, "MAJOR.MINOR.PATCH". */
inline std::string version() { return kpos_version(); }

/** The library's version as MAJOR * 10000 + MINOR * 100 + PATCH (compare KPOS_VERSION_NUMBER). */
inline std::uint32_t version_number() { return kpos_version_number(); }

/** What qr_render() produces, with the numbers of KPOS_QR_*. */
enum class qr_format : std::uint32_t {
    svg = KPOS_QR_SVG,                    /* SVG document (UTF-8), black on white */
    png = KPOS_QR_PNG,                    /* 1-bit grayscale PNG, 8 pixels per module */
    text = KPOS_QR_TEXT,                  /* UTF-8 half blocks drawing the light modules */
    escpos = KPOS_QR_ESCPOS,              /* ESC/POS raster image GS v 0, at most 384 dots wide */
    escpos_native = KPOS_QR_ESCPOS_NATIVE, /* ESC/POS GS ( k: the printer draws the code */
    text_inverse = KPOS_QR_TEXT_INVERSE   /* UTF-8 half blocks drawing the dark modules */
};

namespace detail {

inline std::string text(const char *s) { return s != nullptr ? std::string(s) : std::string(); }

/*
 * The text of kpos_last_error_message() without its leading "KPOS_E_NAME: " and trailing
 * " (correlation_id ID)", which the error keeps apart.
 */
inline std::string bare_message(kpos_result code, std::string message, const std::string &correlation_id)
{
    const std::string prefix = std::string(kpos_result_name(code)) + ": ";
    if (message.compare(0, prefix.size(), prefix) == 0)
        message.erase(0, prefix.size());
    const std::string suffix = " (correlation_id " + correlation_id + ")";
    if (!correlation_id.empty() && message.size() >= suffix.size() &&
        message.compare(message.size() - suffix.size(), suffix.size(), suffix) == 0)
        message.erase(message.size() - suffix.size());
    return message;
}

/*
 * Why a library of version `library` (kpos_version_number()) cannot be used with a header of
 * version `header` (KPOS_VERSION_NUMBER): "" when the major versions agree.
 */
inline std::string version_mismatch(std::uint32_t library, std::uint32_t header)
{
    if (library / 10000 == header / 10000)
        return std::string();
    auto dotted = [](std::uint32_t n) {
        return std::to_string(n / 10000) + "." + std::to_string(n / 100 % 100) + "." +
               std::to_string(n % 100);
    };
    return "the klarna_pos library is version " + dotted(library) + " but klarna_pos.hpp is " +
           dotted(header) + ": their major versions differ, so their ABIs are incompatible";
}

} // namespace detail

/**
 * A failing library call, with the detail the library kept for the calling thread. what() is
 * "KPOS_E_NAME: message (correlation_id ...)".
 */
class error : public std::runtime_error {
public:
    /** An error the caller makes itself, shaped like the library's. */
    error(kpos_result code, const std::string &message, const std::string &field = std::string())
        : std::runtime_error(std::string(kpos_result_name(code)) + ": " + message),
          code_(code), name_(kpos_result_name(code)), message_(message), field_(field)
    {
    }

    /** The error for a call on this thread that just returned `code`: call it right after. */
    static error last(kpos_result code)
    {
        if (kpos_last_error_code() != code)
            return error(code, kpos_result_text(code));
        std::string correlation_id = detail::text(kpos_last_error_correlation_id());
        std::string message =
            detail::bare_message(code, detail::text(kpos_last_error_message()), correlation_id);
        error e(code, message.empty() ? std::string(kpos_result_text(code)) : message,
                detail::text(kpos_last_error_field()), correlation_id);
        e.klarna_error_code_ = detail::text(kpos_last_error_klarna_code());
        e.http_status_ = static_cast<int>(kpos_last_error_http_status());
        e.retry_after_ms_ = kpos_last_error_retry_after_ms();
        e.json_ = detail::text(kpos_last_error_json());
        return e;
    }

    /** The kpos_result number, e.g. KPOS_E_BAD_REQUEST (10). */
    kpos_result code() const noexcept { return code_; }
    /** The code's name, e.g. "KPOS_E_BAD_REQUEST". */
    const std::string &name() const noexcept { return name_; }
    /** The library's message (names the field of a refused order). */
    const std::string &message() const noexcept { return message_; }
    /** What to do about it: a KPOS_ACTION_* value. */
    std::uint32_t action() const noexcept { return kpos_result_action(code_); }
    /** The HTTP status Klarna answered, 0 when there was none. */
    int http_status() const noexcept { return http_status_; }
    /** With KPOS_E_RATE_LIMITED: the milliseconds Klarna asked to wait before the next request
     *  of the same kind; 0 when it gave no wait. */
    std::uint32_t retry_after_ms() const noexcept { return retry_after_ms_; }
    /** Klarna's error_code (e.g. "BAD_VALUE"), "" when none. */
    const std::string &klarna_error_code() const noexcept { return klarna_error_code_; }
    /** Klarna's correlation id, "" when none: quote it to Klarna merchant support. */
    const std::string &correlation_id() const noexcept { return correlation_id_; }
    /** The offending field path, e.g. "order_lines[1].total_tax_amount", "" when none. */
    const std::string &field() const noexcept { return field_; }
    /** The whole kpos_last_error_json text the error was made from ("" for a caller's error),
     *  e.g. for Klarna's error_messages. */
    const std::string &json() const noexcept { return json_; }

private:
    error(kpos_result code, const std::string &message, const std::string &field,
          const std::string &correlation_id)
        : std::runtime_error(std::string(kpos_result_name(code)) + ": " + message +
                             (correlation_id.empty() ? std::string()
                                                     : " (correlation_id " + correlation_id + ")")),
          code_(code), name_(kpos_result_name(code)), message_(message), field_(field),
          correlation_id_(correlation_id)
    {
    }

    kpos_result code_;
    std::string name_, message_, field_, correlation_id_, klarna_error_code_, json_;
    int http_status_ = 0;
    std::uint32_t retry_after_ms_ = 0;
};

namespace detail {

inline void check(kpos_result code)
{
    if (code != KPOS_OK)
        throw error::last(code);
}

/* A string argument for the C ABI: NUL-terminated, so an embedded NUL would cut it short. */
inline const char *c_str(const std::string &s, const char *what)
{
    if (s.find('\0') != std::string::npos)
        throw error(KPOS_E_INVALID_ARGUMENT, std::string(what) + " contains a NUL character", what);
    return s.c_str();
}

struct client_free {
    void operator()(kpos_client *c) const noexcept { kpos_client_free(c); }
};
struct session_free {
    void operator()(kpos_session *s) const noexcept { kpos_session_free(s); }
};
/* For strings returned through char ** (released with kpos_string_free). */
struct string_free {
    void operator()(char *s) const noexcept { kpos_string_free(s); }
};
typedef std::unique_ptr<char, string_free> owned_string;

/* A status number from the library; a number a newer library added is unknown. */
inline klarna_pos::status to_status(std::uint32_t s)
{
    return s <= KPOS_STATUS_EXPIRED ? static_cast<klarna_pos::status>(s) : klarna_pos::status::unknown;
}

/* A string the library returned through char **, copied and released. */
inline std::string take(char *s)
{
    owned_string owned(s);
    return text(s);
}

/* An optional string argument: "" is NULL (the library's choice, e.g. a generated key). */
inline const char *c_str_or_null(const std::string &s, const char *what)
{
    return s.empty() ? nullptr : c_str(s, what);
}

} // namespace detail

/**
 * Refuses a library whose major version differs from this header's (an incompatible ABI):
 * throws error(KPOS_E_INVALID_ARGUMENT) naming both versions. Every client constructor calls
 * it first, so a mismatched library is refused before anything else runs.
 */
inline void check_library_version()
{
    std::string why = detail::version_mismatch(kpos_version_number(), KPOS_VERSION_NUMBER);
    if (!why.empty())
        throw error(KPOS_E_INVALID_ARGUMENT, why);
}


/**
 * Draws `text` (e.g. session.payment_link()) as a QR code with error correction level M and a
 * quiet zone of 4 modules, in `format`. No network traffic. SVG and the text formats are UTF-8.
 * Throws KPOS_E_BAD_REQUEST for an empty text or one too long for a QR code (more than 2331
 * bytes), KPOS_E_INVALID_ARGUMENT for an unknown format.
 */
inline std::vector<std::uint8_t> qr_render(const std::string &text, qr_format format)
{
    std::uint8_t *bytes = nullptr;
    std::size_t length = 0;
    detail::check(kpos_qr_render(detail::c_str(text, "text"), static_cast<std::uint32_t>(format),
                                 &bytes, &length));
    struct release {
        std::uint8_t *p;
        std::size_t n;
        ~release() { kpos_bytes_free(p, n); }
    } guard = {bytes, length};
    return std::vector<std::uint8_t>(guard.p, guard.p + guard.n);
}

/** The answer of client::check(): the first failing step's code (KPOS_OK when every step
 *  passed) and the JSON report of kpos_client_check. */
struct check_result {
    kpos_result code;
    std::string report_json;
};

/** What client::webhook_verify() learned from a verified callback. */
struct webhook_result {
    /** Klarna's id of the session the callback was about. */
    std::string session_id;
    /** The session's status after the callback was merged (completed stays completed); with
     *  webhook_secret and no live session for the callback here (a chain's receiver), the
     *  status it reports, not confirmed with Klarna. */
    klarna_pos::status status;
};

/**
 * One in-store payment. Movable, not copyable; the destructor frees it (does not cancel it at
 * Klarna). Use from one thread at a time, except cancel().
 */
class session {
public:
    /** Called by watch() with each status, on the library's listener thread. */
    typedef std::function<void(klarna_pos::status)> listener;

    session(session &&) noexcept = default;
    /** Frees this object's session first (ending its watch), then takes the other's. */
    session &operator=(session &&other) noexcept
    {
        handle_ = std::move(other.handle_);
        listener_ = std::move(other.listener_);
        return *this;
    }

    /** Klarna's session id. */
    std::string id() const { return detail::text(kpos_session_id(get())); }
    /** The status URL; keep it with id() to resume after a restart. */
    std::string result_url() const { return detail::text(kpos_session_result_url(get())); }
    /** The last known status, without network traffic. */
    klarna_pos::status status() const { return from_c(kpos_session_status(get())); }
    /** The QR code image URL to show; "" until the session is distributed. */
    std::string qr_url() const { return detail::text(kpos_session_qr_url(get())); }
    /** The payment link for the customer's phone; "" if Klarna gave none. */
    std::string payment_link() const { return detail::text(kpos_session_payment_link(get())); }
    /** Klarna's order id once completed (for capture, refund, cancel); "" before. */
    std::string order_id() const { return detail::text(kpos_session_order_id(get())); }

    /** Why a failed session failed (KPOS_E_BAD_REQUEST, _PERMISSION_DENIED or _UNKNOWN, with
     *  Klarna's detail); nullptr when it has not failed. Returned, not thrown. */
    std::unique_ptr<error> failure() const
    {
        kpos_result code = kpos_session_failure(get());
        return std::unique_ptr<error>(code == KPOS_OK ? nullptr : new error(error::last(code)));
    }

    /** The receipt lines of a COMPLETED payment in `language` (a BCP 47 tag; "" or an unknown
     *  tag gives English), separated by '\n', each at most 42 characters (UTF-8; see
     *  kpos_session_receipt_text). Throws KPOS_E_CONFLICT when the session is not COMPLETED. */
    std::string receipt_text(const std::string &language = std::string()) const
    {
        char *out = nullptr;
        detail::check(kpos_session_receipt_text(
            get(), detail::c_str_or_null(language, "language"), &out));
        return detail::take(out);
    }

    /** Reads the status once from Klarna. */
    klarna_pos::status poll()
    {
        std::uint32_t s = KPOS_STATUS_UNKNOWN;
        detail::check(kpos_session_poll(get(), &s));
        return from_c(s);
    }

    /** Blocks until the status differs from the one last returned by poll() or wait(), or is
     *  terminal. Throws error with code KPOS_E_TIMEOUT when `timeout` passes (status() is then
     *  the last known status), KPOS_E_CANCELLED when cancel() is called meanwhile. */
    klarna_pos::status wait(std::chrono::milliseconds timeout)
    {
        long long ms = timeout.count();
        std::uint32_t limit = ms <= 0 ? 0u : ms >= 0xFFFFFFFFLL ? 0xFFFFFFFFu : static_cast<std::uint32_t>(ms);
        std::uint32_t s = KPOS_STATUS_UNKNOWN;
        detail::check(kpos_session_wait(get(), limit, &s));
        return from_c(s);
    }

    /** Cancels the payment at Klarna and wakes a wait() on another thread. Any thread, any
     *  moment; idempotent. Throws KPOS_E_CONFLICT once the payment completed (refund it). */
    void cancel() { detail::check(kpos_session_cancel(get())); }

    /** Calls `fn(status)` on the library's listener thread (kpos_session_watch): first with the
     *  current status, then once per change, in order, the last time with the final status.
     *  Replaces an earlier listener. unwatch(), cancel() (after the final call) and the
     *  destructor end it: when they return, `fn` is not running and will not run again (from
     *  inside `fn` they do not wait; destroy the session there only as the last thing `fn`
     *  does). An exception `fn` throws is swallowed: it cannot cross into the library. */
    void watch(listener fn)
    {
        if (!fn) {
            unwatch();
            return;
        }
        std::unique_ptr<listener> next(new listener(std::move(fn)));
        // The library ends the previous listener's calls before it returns; only then is the
        // previous function destroyed.
        detail::check(kpos_session_watch(get(), &session::trampoline, next.get()));
        listener_ = std::move(next);
    }

    /** Ends watch() without a final call. The listener function is kept until the next watch()
     *  or the destructor, so unwatch() may be called from inside it. */
    void unwatch() { detail::check(kpos_session_watch(get(), nullptr, nullptr)); }

    /** The C handle, for functions this header does not wrap; owned by this object. */
    kpos_session *get() const noexcept { return handle_.get(); }

private:
    friend class client;
    explicit session(kpos_session *handle) : handle_(handle) {}

    static klarna_pos::status from_c(std::uint32_t s) { return detail::to_status(s); }

    static void trampoline(void *userdata, kpos_session *, std::uint32_t s)
    {
        try {
            (*static_cast<listener *>(userdata))(from_c(s));
        } catch (...) {
        }
    }

    // Declared before handle_, so destroyed after it: freeing the session ends the watch first.
    std::unique_ptr<listener> listener_;
    std::unique_ptr<kpos_session, detail::session_free> handle_;
};

/**
 * A Klarna client: configuration, credentials, connection pool. Thread-safe: share one between
 * all tills of a process. Movable, not copyable; sessions stay usable after it is destroyed.
 */
class client {
public:
    /** A client from the configuration JSON (keys in docs/configuration.md: api_url, username, password,
     *  user_agent, timeouts, ...). Throws KPOS_E_INVALID_ARGUMENT with field() naming a bad key. */
    explicit client(const std::string &config_json) : handle_(open(detail::c_str(config_json, "config"))) {}

    /** A client from KLARNA_API_URL, KLARNA_USERNAME, KLARNA_PASSWORD (and KLARNA_USER_AGENT). */
    static client from_env() { return client(open(nullptr)); }

    /** Validates the order locally (KPOS_E_BAD_REQUEST with field() when refused; nothing is
     *  sent), then starts the in-store payment with one request to Klarna. */
    session create_session(const std::string &order_json)
    {
        kpos_session *out = nullptr;
        detail::check(kpos_session_create(get(), detail::c_str(order_json, "order"), &out));
        return session(out);
    }

    /** Continues a session created earlier (e.g. before a restart). No network traffic. */
    session resume_session(const std::string &session_id, const std::string &result_url)
    {
        kpos_session *out = nullptr;
        detail::check(kpos_session_resume(get(), detail::c_str(session_id, "session_id"),
                                          detail::c_str(result_url, "result_url"), &out));
        return session(out);
    }

    /** Klarna's order as JSON: status (AUTHORIZED, PART_CAPTURED, CAPTURED, CANCELLED, EXPIRED,
     *  CLOSED), order_amount, captured_amount, refunded_amount, remaining_authorized_amount,
     *  order_lines, captures, refunds, ... Throws KPOS_E_NOT_FOUND for an unknown order. */
    std::string get_order(const std::string &order_id)
    {
        char *out = nullptr;
        detail::check(kpos_order_get(get(), detail::c_str(order_id, "order_id"), &out));
        return detail::take(out);
    }

    /** Captures with Klarna's body ({"captured_amount", "description"?, "reference"?,
     *  "order_lines"?, ...}, checked before anything is sent) and returns the capture id.
     *  `idempotency_key` (1-64 printable ASCII characters, no spaces) makes a repeated call
     *  capture once; "" lets the library make one. After KPOS_E_TIMEOUT, _NETWORK,
     *  _RATE_LIMITED or _UNKNOWN, call again with the same key. KPOS_E_CONFLICT beyond the
     *  remaining authorization. */
    std::string capture(const std::string &order_id, const std::string &capture_json,
                        const std::string &idempotency_key = std::string())
    {
        char *out = nullptr;
        detail::check(kpos_order_capture(get(), detail::c_str(order_id, "order_id"),
                                         detail::c_str(capture_json, "capture"),
                                         detail::c_str_or_null(idempotency_key, "idempotency_key"),
                                         &out));
        return detail::take(out);
    }

    /** Refunds with Klarna's body ({"refunded_amount", ...}) and returns the refund id; repeated
     *  with its key, the refund is booked once and the same id returned. KPOS_E_CONFLICT above
     *  the captured amount (Klarna's REFUND_NOT_ALLOWED). Key as for capture(). */
    std::string refund(const std::string &order_id, const std::string &refund_json,
                       const std::string &idempotency_key = std::string())
    {
        char *out = nullptr;
        detail::check(kpos_order_refund(get(), detail::c_str(order_id, "order_id"),
                                        detail::c_str(refund_json, "refund"),
                                        detail::c_str_or_null(idempotency_key, "idempotency_key"),
                                        &out));
        return detail::take(out);
    }

    /** Cancels an order before anything was captured (a void); KPOS_E_CONFLICT once something
     *  was captured (refund instead). Key as for capture(). */
    void cancel_order(const std::string &order_id, const std::string &idempotency_key = std::string())
    {
        detail::check(kpos_order_cancel(get(), detail::c_str(order_id, "order_id"),
                                        detail::c_str_or_null(idempotency_key, "idempotency_key")));
    }

    /** Releases the part of the authorization that will not be captured; KPOS_E_CONFLICT when
     *  Klarna does not allow it (e.g. after a cancel). Key as for capture(). */
    void release_remaining_authorization(const std::string &order_id,
                                         const std::string &idempotency_key = std::string())
    {
        detail::check(kpos_order_release_remaining_authorization(
            get(), detail::c_str(order_id, "order_id"),
            detail::c_str_or_null(idempotency_key, "idempotency_key")));
    }

    /** Checks that this till reaches Klarna with this configuration (DNS, TCP, proxy, TLS,
     *  credentials, clock; see kpos_client_check), creating nothing. Does not throw for a
     *  failing step: its code is in the result, the report says what to do. */
    check_result check()
    {
        char *out = nullptr;
        kpos_result code = kpos_client_check(get(), &out);
        if (out == nullptr)
            detail::check(code);
        check_result r;
        r.code = code;
        r.report_json = detail::take(out);
        return r;
    }

    /** The open work of the journal (config journal_dir) as a JSON array, oldest first, one
     *  record per line: sessions to resume and Order Management calls to repeat with their key
     *  (see kpos_journal_pending). KPOS_E_INVALID_ARGUMENT without a journal. */
    std::string journal_pending()
    {
        char *out = nullptr;
        detail::check(kpos_journal_pending(get(), &out));
        return detail::take(out);
    }

    /** The store's day for a cash-up as JSON (see kpos_history_report): the work finished from
     *  `from` (inclusive) to `to` (exclusive), RFC 3339 date-times with an offset, counted and
     *  summed per currency and outcome, with the items. KPOS_E_INVALID_ARGUMENT (field "from"
     *  or "to") for a bad bound, and without a journal. */
    std::string history_report(const std::string &from, const std::string &to)
    {
        char *out = nullptr;
        detail::check(kpos_history_report(get(), detail::c_str(from, "from"),
                                          detail::c_str(to, "to"), &out));
        return detail::take(out);
    }

    /** Every history and journal record whose merchant_reference1 or merchant_reference2 is
     *  `merchant_reference`, as a JSON array with one record per line ("[]" when nothing is
     *  known; see kpos_history_find). */
    std::string history_find(const std::string &merchant_reference)
    {
        char *out = nullptr;
        detail::check(kpos_history_find(
            get(), detail::c_str(merchant_reference, "merchant_reference"), &out));
        return detail::take(out);
    }

    /** Verifies a callback Klarna made to the webhook_url and merges the status it reports into
     *  its session. `request` is the request target ("/path?query"), the full URL or the query;
     *  `body` the request body, both as received: any bytes, NUL included. Answer 200 when it returns; when it throws, 403 for
     *  KPOS_E_PERMISSION_DENIED (forged or altered: nothing changed), 404 for KPOS_E_NOT_FOUND,
     *  400 for KPOS_E_BAD_REQUEST, 503 for anything else (Klarna delivers again). A reported
     *  COMPLETED is confirmed with Klarna first (blocks up to request_timeout_ms). With
     *  webhook_secret any client holding the secret verifies it: without a live session for it
     *  (a chain's receiver) it reports the session id and claimed status, applied to nothing;
     *  the till's own call applies the relayed callback (see docs/webhooks.md). */
    webhook_result webhook_verify(const std::string &request, const std::string &body)
    {
        char *id = nullptr;
        std::uint32_t s = KPOS_STATUS_UNKNOWN;
        /* Bytes with their lengths: a NUL byte is part of the input, never its end. */
        detail::check(kpos_webhook_verify(
            get(), reinterpret_cast<const std::uint8_t *>(request.data()), request.size(),
            reinterpret_cast<const std::uint8_t *>(body.data()), body.size(), &id, &s));
        webhook_result result;
        result.session_id = detail::take(id);
        result.status = detail::to_status(s);
        return result;
    }

    /** The C handle, for functions this header does not wrap; owned by this object. */
    kpos_client *get() const noexcept { return handle_.get(); }

private:
    explicit client(kpos_client *handle) : handle_(handle) {}

    static kpos_client *open(const char *config)
    {
        check_library_version();
        kpos_client *out = nullptr;
        detail::check(kpos_client_new(config, &out));
        return out;
    }

    std::unique_ptr<kpos_client, detail::client_free> handle_;
};

} // namespace klarna_pos

#endif /* KLARNA_POS_HPP */
