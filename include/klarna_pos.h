/*
 * klarna_pos.h: Klarna in-store payments for point-of-sale tills.
 *
 * Conventions (every function):
 *  - Fallible functions return a kpos_result (KPOS_OK = 0); other outputs go through
 *    out-pointers placed last, written only on success (kpos_session_wait also writes the
 *    status on KPOS_E_TIMEOUT). A kpos_result must not be ignored (KPOS_MUST_USE).
 *  - A NULL where an object is required gives KPOS_E_INVALID_ARGUMENT; *_free(NULL) is a no-op.
 *    Freed handles are detected and refused rather than dereferenced.
 *  - Strings are UTF-8 and NUL-terminated. Strings returned as `const char *` are owned by the
 *    library (static, or valid until their handle is freed, as documented per function);
 *    strings returned through `char **` are released with kpos_string_free, never free().
 *    Untrusted network input (webhook calls) is passed as bytes with a length instead.
 *  - The detail of the most recent failure on the calling thread is available from
 *    kpos_last_error_code/_message/_field/_klarna_code/_correlation_id/_http_status/_json
 *    (like errno); the strings stay valid until the next failing call on the same thread.
 *  - kpos_client is thread-safe and meant to be shared. A kpos_session is used by one thread at
 *    a time, except kpos_session_cancel, which any thread may call at any moment.
 *  - Every blocking call is bounded by the configured connect/request timeouts or its own
 *    timeout argument. No panic ever crosses into the caller (KPOS_E_INTERNAL instead).
 *  - fork() (Unix): a child may go on using the clients and sessions created before the fork,
 *    also when other threads were inside the library at that moment. The child never uses a
 *    connection the parent opened (it opens its own on its first request), so parent and child
 *    never see each other's answers. Work a thread of the parent was doing during the fork
 *    (a wait, a cancel) is not continued in the child, and a session such a thread was using
 *    at that moment should not be used in the child. Do not fork from inside a log callback.
 *  - The log callback is never called while the library holds a lock: it may call any kpos_
 *    function. Once kpos_set_log_callback returns, the previous callback is not running and
 *    is never called again.
 *  - All functions use the C calling convention: cdecl on 32-bit Windows (not stdcall), with
 *    undecorated export names (kpos_version, not _kpos_version@0); .NET callers declare
 *    CallingConvention.Cdecl, Delphi callers `cdecl`. The exception is the `_w` layer for
 *    stdcall and UTF-16 callers (VB6, PowerBuilder): KPOS_STDCALL functions named like their
 *    UTF-8 originals plus `_w`, taking NUL-terminated UTF-16 strings and writing strings into
 *    the caller's buffers (docs/windows.md), also exported undecorated.
 *  - Numbers of result codes and statuses never change meaning.
 *  - The header is C89 and C++98: it compiles with -std=c89 -pedantic and -std=c++98 -pedantic.
 */

#ifndef KLARNA_POS_H
#define KLARNA_POS_H

/* Generated with cbindgen from src/ffi by tests/header.rs; regenerate with
   KPOS_UPDATE_HEADER=1 cargo test --test header. Do not edit by hand. */

#include <stdint.h>
#include <stddef.h>

/** Version of this header: compare with kpos_version() / kpos_version_number() at run time. */
#define KPOS_VERSION_MAJOR 0
#define KPOS_VERSION_MINOR 1
#define KPOS_VERSION_PATCH 0
#define KPOS_VERSION "0.1.0"
/** MAJOR * 10000 + MINOR * 100 + PATCH, for #if checks (kpos_version_number() at run time). */
#define KPOS_VERSION_NUMBER (KPOS_VERSION_MAJOR * 10000 + KPOS_VERSION_MINOR * 100 + KPOS_VERSION_PATCH)

/**
 * KPOS_API marks every function of the library. On Windows it imports them from the DLL
 * (define KPOS_STATIC when linking the static library; KPOS_BUILDING exports them instead);
 * elsewhere it gives them default visibility, so a caller built with -fvisibility=hidden still
 * sees them. Define KPOS_API yourself to override.
 */
#ifndef KPOS_API
#  if defined(_WIN32) || defined(__CYGWIN__)
#    if defined(KPOS_STATIC)
#      define KPOS_API
#    elif defined(KPOS_BUILDING)
#      define KPOS_API __declspec(dllexport)
#    else
#      define KPOS_API __declspec(dllimport)
#    endif
#  elif defined(__GNUC__) && __GNUC__ >= 4
#    define KPOS_API __attribute__((visibility("default")))
#  else
#    define KPOS_API
#  endif
#endif

/**
 * KPOS_MUST_USE marks every function returning a kpos_result: ignoring the result is a
 * compiler warning (gcc, clang: warn_unused_result; MSVC /analyze: _Check_return_). Check
 * every result; where a failure changes nothing, say why next to the check (gcc warns even
 * for a call cast to (void)). Define KPOS_MUST_USE yourself (e.g. to nothing) to override.
 */
#ifndef KPOS_MUST_USE
#  if defined(__GNUC__) && (__GNUC__ > 3 || (__GNUC__ == 3 && __GNUC_MINOR__ >= 4))
#    define KPOS_MUST_USE __attribute__((warn_unused_result))
#  elif defined(_MSC_VER)
#    include <sal.h>
#    define KPOS_MUST_USE _Check_return_
#  else
#    define KPOS_MUST_USE
#  endif
#endif

/**
 * KPOS_STDCALL marks the `_w` functions (UTF-16 strings, caller's buffers): __stdcall on 32-bit
 * Windows, the convention VB6, PowerBuilder and Win32 callers use; nothing elsewhere (64-bit
 * Windows and other systems have one calling convention). Their exports are undecorated too.
 */
#ifndef KPOS_STDCALL
#  if defined(_WIN32) && !defined(_WIN64)
#    define KPOS_STDCALL __stdcall
#  else
#    define KPOS_STDCALL
#  endif
#endif

#ifdef __cplusplus
extern "C" {
#endif


/**
 * Nothing to do.
 */
#define KPOS_ACTION_NONE 0

/**
 * Create the request again with appropriate input (check ids, amounts, fields).
 */
#define KPOS_ACTION_FIX_INPUT 1

/**
 * Retry later; the failure is temporary.
 */
#define KPOS_ACTION_RETRY 2

/**
 * Do not retry; contact Klarna merchant support (quote the correlation id).
 */
#define KPOS_ACTION_CONTACT_SUPPORT 3

/**
 * Fix the calling code or configuration.
 */
#define KPOS_ACTION_FIX_CALLER 4

/**
 * Errors the till should know about.
 */
#define KPOS_LOG_ERROR 1

/**
 * Unexpected but handled situations (retries, unknown statuses).
 */
#define KPOS_LOG_WARN 2

/**
 * One line per session step and failed request.
 */
#define KPOS_LOG_INFO 3

/**
 * One line per HTTP request (method, URL without query, status, time, correlation id).
 */
#define KPOS_LOG_DEBUG 4

/**
 * Everything, including personal data from orders. Never enable in production by default.
 */
#define KPOS_LOG_TRACE 5

/**
 * SVG document (UTF-8), 8 user units per module, black on white.
 */
#define KPOS_QR_SVG 1

/**
 * PNG image, 1-bit grayscale, 8 pixels per module, black on white.
 */
#define KPOS_QR_PNG 2

/**
 * UTF-8 text of half-block characters (U+2580, U+2584, U+2588 and spaces), two module rows per
 * line, each line ending in `\n`. The characters draw the light modules, so the code reads
 * correctly on the usual light-on-dark terminal.
 */
#define KPOS_QR_TEXT 3

/**
 * ESC/POS raster bit image (`GS v 0`), at most 384 dots wide (fits 58 mm and 80 mm printers),
 * quiet zone included. Send it as it is, after your own alignment commands.
 */
#define KPOS_QR_ESCPOS 4

/**
 * ESC/POS printer-native QR commands (`GS ( k`: model 2, module size, error correction M, store,
 * print): the printer draws the code itself, keeping its own quiet zone. Needs a printer that
 * supports `GS ( k`; otherwise use `KPOS_QR_ESCPOS`.
 */
#define KPOS_QR_ESCPOS_NATIVE 5

/**
 * As `KPOS_QR_TEXT`, but the characters draw the dark modules: for dark-on-light character
 * displays.
 */
#define KPOS_QR_TEXT_INVERSE 6

/**
 * Created locally; no status read yet.
 */
#define KPOS_STATUS_CREATED 0

/**
 * Klarna is preparing the distribution (older API versions).
 */
#define KPOS_STATUS_WAITING 1

/**
 * The QR code / payment link is ready: show it (screen at full brightness).
 */
#define KPOS_STATUS_DISTRIBUTED 2

/**
 * The customer opened it: show "payment in progress".
 */
#define KPOS_STATUS_ACCESSED 3

/**
 * Payment done, order placed: `kpos_session_order_id` is set. Terminal.
 */
#define KPOS_STATUS_COMPLETED 4

/**
 * Cancelled by the till or the customer. Terminal.
 */
#define KPOS_STATUS_CANCELED 5

/**
 * Klarna could not complete it: `kpos_session_failure` tells why. Terminal.
 */
#define KPOS_STATUS_FAILED 6

/**
 * The session ran out of time. Terminal.
 */
#define KPOS_STATUS_EXPIRED 7

/**
 * A status this library version does not know (Klarna added one). Not terminal, not an error:
 * keep waiting.
 */
#define KPOS_STATUS_UNKNOWN 99

/**
 * A Klarna client: configuration, credentials and a keep-alive connection pool. Thread-safe:
 * one client is meant to be shared by every till of a process.
 */
typedef struct kpos_client kpos_client;

/**
 * One in-store payment. Use it from one thread at a time, except `kpos_session_cancel`, which
 * any thread may call at any moment.
 */
typedef struct kpos_session kpos_session;

/**
 * A result code: `KPOS_OK` (0) or one of the `KPOS_E_*` values. Numbers never change meaning.
 */
typedef uint32_t kpos_result;

/**
 * Receives one log line: `level` is a `KPOS_LOG_*` value, `message` is UTF-8, NUL-terminated and
 * valid only during the call. May be called from any thread, concurrently. Must not unwind
 * (no C++ exceptions, no longjmp). It is never called while the library holds a lock, so it
 * may call any `kpos_` function, on the client or session being logged too.
 */
typedef void (*kpos_log_callback)(void *userdata, uint32_t level, const char *message);

/**
 * Receives a session's status (`KPOS_STATUS_*`) from `kpos_session_watch`: first the status at
 * the time of the watch, then each change in order, the last call with a terminal status
 * (COMPLETED, CANCELED, FAILED, EXPIRED). `session` is the watched handle, `userdata` the
 * pointer given to `kpos_session_watch`.
 *
 * Called on the library's listener thread, one call at a time for the whole process (never on
 * the thread that called `kpos_session_watch`): return quickly, e.g. post a message to the
 * till's UI thread (Win32: `PostMessage(hwnd, WM_APP + n, status, 0)`). It may call any
 * `kpos_` function, including `kpos_session_watch(session, NULL, NULL)`, `kpos_session_cancel`
 * and `kpos_session_free` on its own session (see `kpos_session_watch`). Must not unwind (no C++
 * exceptions, no longjmp).
 */
typedef void (*kpos_status_listener)(void *userdata, kpos_session *session, uint32_t status);

/**
 * Success.
 */
#define KPOS_OK 0

/**
 * API misuse: a NULL or freed handle, invalid UTF-8, unreadable JSON, an unknown enum value, a
 * bad configuration. Action: fix the calling code.
 */
#define KPOS_E_INVALID_ARGUMENT 1

/**
 * The order or request is not acceptable: refused locally before sending (the field path is in
 * the last error), or Klarna answered 400 / a distribution failed with `BAD_REQUEST`.
 * Action: create the request again with appropriate input.
 */
#define KPOS_E_BAD_REQUEST 10

/**
 * Credentials wrong or not allowed (HTTP 401/403, distribution error `PERMISSION_DENIED`).
 * Action: do not retry; contact Klarna merchant support.
 */
#define KPOS_E_PERMISSION_DENIED 11

/**
 * Klarna system error (distribution error `UNKNOWN`/`INTERNAL_ERROR`, HTTP 5xx after retries).
 * Action: do not retry the session; contact Klarna merchant support.
 */
#define KPOS_E_UNKNOWN 12

/**
 * The session or order is unknown to Klarna. Action: check the id.
 */
#define KPOS_E_NOT_FOUND 13

/**
 * Not allowed in the current state (e.g. cancel after COMPLETED). Action: read the state again.
 */
#define KPOS_E_CONFLICT 14

/**
 * HTTP 429 after the library's own backoff. Action: retry later.
 */
#define KPOS_E_RATE_LIMITED 15

/**
 * No answer within the configured time, or `kpos_session_wait` ran out. Action: retry or cancel.
 */
#define KPOS_E_TIMEOUT 30

/**
 * Connection failed or was reset, DNS, proxy. Action: retry.
 */
#define KPOS_E_NETWORK 31

/**
 * Certificate or TLS handshake failure. Action: fix the trust store (`ca_file`) or the clock.
 */
#define KPOS_E_TLS 32

/**
 * The server answered something unparseable or unexpected. Action: contact support.
 */
#define KPOS_E_PROTOCOL 33

/**
 * The call was interrupted by `kpos_session_cancel`. Action: none.
 */
#define KPOS_E_CANCELLED 50

/**
 * A bug in the library (a caught panic). Action: report it; the process is unharmed.
 */
#define KPOS_E_INTERNAL 90

/**
 * The library version, `"MAJOR.MINOR.PATCH"`; static, never freed.
 */
KPOS_API const char *kpos_version(void);

/**
 * The library version as one number, `MAJOR * 10000 + MINOR * 100 + PATCH` (the formula of
 * `KPOS_VERSION_NUMBER`): compare its `/ 10000` with `KPOS_VERSION_MAJOR` at load time to refuse
 * a library of another major version. Never fails; thread-safe.
 */
KPOS_API uint32_t kpos_version_number(void);

/**
 * Releases a string the library returned through a `char **` out-parameter. NULL is a no-op.
 *
 * # Safety
 * `s` must be NULL or a string from this library not yet freed.
 */
KPOS_API void kpos_string_free(char *s);

/**
 * Releases bytes the library returned through a `uint8_t **` out-parameter; pass the `len`
 * returned with them. The buffer is found by its address, so NULL, a pointer the library did
 * not hand out and a second free are no-ops.
 *
 * # Safety
 * Always safe to call; after it, `p` must not be used.
 */
KPOS_API void kpos_bytes_free(uint8_t *p, size_t len);

/**
 * Checks that this till can reach Klarna with the client's configuration, without creating
 * anything at Klarna: name resolution, TCP connect, the proxy's CONNECT tunnel (when a proxy
 * is used), the TLS handshake (verified chain, certificate expiry), the credentials (an
 * authenticated read of a session that cannot exist: 404 means accepted, 401/403 wrong
 * credentials or region) and the clock's offset from Klarna's `Date` header. Each network step
 * is bounded by the client's connect timeout, the credentials step by its request timeout.
 *
 * Writes a JSON report to `*report_json` (also when a step fails; release it with
 * `kpos_string_free`): `{"ok", "code", "code_name", "api_url", "proxy", "proxy_source",
 * "trust_store", "ms", "steps": [{"step", "verdict", "ms", "detail", "code", "code_name",
 * "action"}, ...]}`, steps `dns`, `tcp`, `proxy`, `tls`, `credentials`, `clock` in that order,
 * `verdict` one of `ok`, `warning` (a certificate expiring within 14 days, a clock more than
 * 60 s off: the check still passes), `failed` (with `code`, `code_name` and `action`, what to
 * do) or `skipped`. docs/operations.md describes each step.
 *
 * Returns `KPOS_OK` only when every step passed; otherwise the first failing step's code
 * (`KPOS_E_NETWORK`, `KPOS_E_TIMEOUT`, `KPOS_E_TLS`, `KPOS_E_PERMISSION_DENIED`, ...; the last
 * error says which step), or `KPOS_E_INVALID_ARGUMENT` (NULL `report_json`, freed client; then
 * nothing is written).
 *
 * # Safety
 * `report_json` must be valid for a write.
 */
KPOS_API KPOS_MUST_USE kpos_result kpos_client_check(kpos_client *client, char **report_json);

/**
 * Creates a client from a configuration JSON object (keys: `api_url` or `region` +
 * `environment`, `username`, `password`, `user_agent`, `connect_timeout_ms`,
 * `request_timeout_ms`, `poll_interval_ms`, `max_retries`, `max_safe_requests_per_second`,
 * `ca_file`, `trust_store`, `proxy`, `allow_insecure_http`, `webhook_url` (the till backend's endpoint for
 * Klarna's status callbacks; see `kpos_webhook_verify`), `webhook_poll_interval_ms`,
 * `webhook_secret` and `webhook_secret_previous` (32 to 64 random bytes as hex or base64url,
 * e.g. from `openssl rand -hex 32`: callbacks verifiable by any client holding the secret),
 * `journal_dir`; docs/configuration.md gives each key's type, default and meaning).
 * `config_json` NULL reads `KLARNA_API_URL`, `KLARNA_USERNAME`, `KLARNA_PASSWORD` (and
 * `KLARNA_USER_AGENT`, `KLARNA_JOURNAL_DIR`, `KLARNA_WEBHOOK_SECRET`,
 * `KLARNA_WEBHOOK_SECRET_PREVIOUS`) from the environment, over the JSON file named by
 * `KLARNA_POS_CONFIG` when that is set (its errors name the file). Without a `proxy` key the
 * proxy comes from `https_proxy` and the other variables curl reads (docs/operations.md).
 * No network traffic happens
 * here; with `journal_dir` the directory is created when missing (mode 0700) and its journal
 * opened (see `kpos_journal_pending`); on Unix it must belong to the till's user and must not
 * be writable by group or others. A port in a URL must be 1..65535, a host name ASCII (give
 * an internationalised name in its IDNA `xn--` form), and `username` must not contain `:`.
 *
 * On success writes a new client to `*out`; release it with `kpos_client_free`.
 * Returns `KPOS_OK`, or `KPOS_E_INVALID_ARGUMENT` (NULL `out`, invalid UTF-8 or JSON, unknown
 * key, bad value, a `journal_dir` that cannot be created, written or locked, that another user
 * owns or may write to, or that holds a journal of a newer format: the last error names the
 * key in `field`).
 *
 * # Safety
 * `config_json` must be NULL or a NUL-terminated string; `out` must be valid for a write.
 */
KPOS_API
KPOS_MUST_USE
kpos_result kpos_client_new(const char *config_json,
                            kpos_client **out);

/**
 * Releases a client; its credentials are wiped from memory once the last session using it is
 * freed too. NULL and an already freed client are no-ops. Sessions created from it stay usable.
 *
 * # Safety
 * `client` must be NULL or a handle from `kpos_client_new`.
 */
KPOS_API void kpos_client_free(kpos_client *client);

/**
 * The store's day for a cash-up: the work finished between `from` (inclusive) and `to`
 * (exclusive), RFC 3339 date-times with an offset (`"2026-11-30T00:00:00+01:00"`,
 * `"2026-11-30T23:00:00Z"`), read from the history kept in `journal_dir` (every client and
 * process sharing the directory), counted and summed per currency and outcome, with the items.
 *
 * Writes to `*report_json` (release it with `kpos_string_free`) one JSON object:
 *
 * ```text
 * {"from":"…","to":"…","unwritten":0,
 * "currencies":[
 * {"currency":"SEK","paid":{"count":17,"amount":212500},"cancelled":{…},"failed":{…},"expired":{…},"open":{…},"captured":{…},"refunded":{…},"order_cancelled":{…},"released":{…},"refused":{…},"unanswered":{…}}
 * ],
 * "items":[
 * {"kind":"session","record":"…","outcome":"paid","amount":12500,"purchase_currency":"SEK","merchant_reference1":"4711","merchant_reference2":null,"session_id":"…","order_id":"…","idempotency_key":null,"created_at":"…","finished_at":"…","status":"COMPLETED","klarna_reference":"…","failure_code":null}
 * ]}
 * ```
 *
 * One currency row and one item per line. Amounts are integers of minor units, exact. Outcomes
 * of sessions: `paid`, `cancelled`, `failed`, `expired`, and `open` for a session started in
 * the range whose outcome is not recorded (still running, or the till stopped before seeing
 * it; `session_id` null when the create's answer never came). Of Order Management calls
 * (`kind` `capture`, `refund`, `cancel`, `release`): `captured`, `refunded`,
 * `order_cancelled`, `released`, `refused` (Klarna said no; `failure_code`), and `unanswered`
 * (no definitive answer yet: repeat it, see `kpos_journal_pending`). An Order Management item
 * carries the currency and references of its sale when the history holds the sale; otherwise
 * its row has `"currency":null`. Currency rows come in the order their currency first appears
 * among the items; the items are the history's lines in the order they were recorded (the order
 * the work finished), then the open records, oldest first. `unwritten` counts history lines this process could not
 * write (disk full; they are in the report, and written with the next line).
 *
 * Thread-safe. Returns `KPOS_OK`; `KPOS_E_INVALID_ARGUMENT` with field `from` or `to` for a
 * bound that is NULL, not UTF-8 or not an RFC 3339 date-time with an offset, or `to` not later
 * than `from`; `KPOS_E_INVALID_ARGUMENT` for a NULL `report_json`, a NULL or freed client, a
 * client without `journal_dir`, or an unreadable history (field `journal_dir`).
 *
 * # Safety
 * `from` and `to` must be NULL or NUL-terminated strings; `report_json` must be valid for a
 * write.
 */
KPOS_API
KPOS_MUST_USE
kpos_result kpos_history_report(kpos_client *client,
                                const char *from,
                                const char *to,
                                char **report_json);

/**
 * "Was sale 4711 paid?": every record the history and the journal (in `journal_dir`, shared by
 * every client and process using it) hold whose `merchant_reference1` or
 * `merchant_reference2` is `merchant_reference`, with the Order Management work on their
 * orders (history lines in the order recorded, then open records), each with its `outcome` (the items of `kpos_history_report`: `paid`,
 * `cancelled`, `failed`, `expired`, `open`, `captured`, `refunded`, ...).
 *
 * Writes a JSON array with one record per line to `*records_json` (release it with
 * `kpos_string_free`); `[]` when nothing is known. What to do with the answer:
 *
 * - `paid`: the sale is paid; `order_id` is Klarna's order. Do not take the payment again.
 * - `open` with a `session_id`: the outcome was never seen (a lost answer, a crash). Resume it
 *   with `kpos_session_resume` (the result URL is in `kpos_journal_pending`) and wait.
 * - `open` with `session_id` null: the create was sent but its answer never came; a payment of
 *   that amount may exist. Look the reference up in Klarna's merchant portal (Orders, search by
 *   merchant reference) before taking the payment again.
 * - `[]`: this till's library never finished or started a session with that reference in this
 *   `journal_dir`: it was never created here, was created by another till or directory, or
 *   before the history existed. Look the reference up in Klarna's merchant portal or through
 *   Order Management by the order id the till may have kept.
 *
 * Thread-safe. Returns `KPOS_OK`; `KPOS_E_INVALID_ARGUMENT` with field `merchant_reference`
 * when it is NULL, not UTF-8, empty, longer than 255 characters or has control characters;
 * `KPOS_E_INVALID_ARGUMENT` for a NULL `records_json`, a NULL or freed client, a client without
 * `journal_dir`, or an unreadable history (field `journal_dir`).
 *
 * # Safety
 * `merchant_reference` must be NULL or a NUL-terminated string; `records_json` must be valid
 * for a write.
 */
KPOS_API
KPOS_MUST_USE
kpos_result kpos_history_find(kpos_client *client,
                              const char *merchant_reference,
                              char **records_json);

/**
 * The lines to print on the receipt of a COMPLETED payment, in `language` (a BCP 47 tag as for
 * `kpos_status_display_text_for`, the same 13 languages; NULL or an unknown tag gives
 * English):
 *
 * ```text
 * Paid with Klarna
 * Amount: 125.00 SEK
 * Klarna order ID: 7a8c5b1e-3f4d-4e2a-9b6c-0d1e2f3a4b5c
 * Date: 2026-11-30 09:12
 * Reference: 4711
 * ```
 *
 * Lines are separated by `\n` (none after the last); each is at most 42 characters (Unicode
 * characters, not bytes; UTF-8): a value that does not fit beside its label follows on lines of
 * its own, cut every 42 characters. The amount has the currency's decimals with a decimal
 * comma in every language but English; the date and time are when this process saw the payment
 * complete, in local time (Unix; `UTC` is added where the library cannot read the local time
 * zone); the reference is `merchant_reference1`, else `merchant_reference2` (no line without
 * either). Writes the text to `*text` (release it with `kpos_string_free`).
 *
 * Use the session from one thread at a time. Returns `KPOS_OK`; `KPOS_E_CONFLICT` when the
 * session is not COMPLETED (nothing to print: check the status first);
 * `KPOS_E_INVALID_ARGUMENT` for a NULL `text`, a NULL or freed session, a `language` that is
 * not UTF-8, or a session resumed without its journal record (its amount is unknown to this
 * client).
 *
 * # Safety
 * `language` must be NULL or a NUL-terminated string; `text` must be valid for a write.
 */
KPOS_API
KPOS_MUST_USE
kpos_result kpos_session_receipt_text(const kpos_session *s,
                                      const char *language,
                                      char **text);

/**
 * The symbolic name of a code, e.g. `"KPOS_E_BAD_REQUEST"`. Static; an unknown number gives
 * `"KPOS_E_UNRECOGNIZED"`.
 */
KPOS_API const char *kpos_result_name(uint32_t code);

/**
 * One English sentence describing a code. Static; an unknown number gives a generic sentence.
 */
KPOS_API const char *kpos_result_text(uint32_t code);

/**
 * What to do about a code: one of `KPOS_ACTION_*`. An unknown number gives
 * `KPOS_ACTION_CONTACT_SUPPORT`.
 */
KPOS_API uint32_t kpos_result_action(uint32_t code);

/**
 * Code of the most recent failing `kpos_` call on this thread, `KPOS_OK` if none failed yet.
 * Successful calls do not reset it (like `errno`).
 */
KPOS_API KPOS_MUST_USE kpos_result kpos_last_error_code(void);

/**
 * Message of the most recent failing call on this thread, or `""`: `KPOS_E_NAME: text`,
 * followed by ` (correlation_id ID)` when Klarna gave one (the same id as
 * `kpos_last_error_correlation_id`). Owned by the library; valid until the next failing `kpos_`
 * call on this thread.
 */
KPOS_API const char *kpos_last_error_message(void);

/**
 * The whole detail of the most recent failure on this thread as one JSON object:
 * `{"code","name","message","action","http_status","klarna_error_code","error_messages",
 * "correlation_id","field","retry_after_ms"}` (absent facts are `null`; `retry_after_ms`, with
 * `KPOS_E_RATE_LIMITED`, is how long Klarna asked this client to wait before the next request of
 * the same kind), or `"{}"` when nothing failed yet.
 * Owned by the library; valid until the next failing `kpos_` call on this thread.
 */
KPOS_API const char *kpos_last_error_json(void);

/**
 * Path of the offending field of the most recent failure on this thread (e.g.
 * `order_lines[1].total_tax_amount`, a configuration key such as `journal_dir`, or the name of
 * a refused argument such as `order_json`), or NULL when the failure named no field or nothing
 * failed yet. Owned by the library; valid until the next
 * failing `kpos_` call on this thread. Thread-safe: each thread reads its own last error.
 * Never fails (no error code of its own).
 */
KPOS_API const char *kpos_last_error_field(void);

/**
 * Klarna's error code of the most recent failure on this thread (e.g. `BAD_VALUE`,
 * `NO_SUCH_ORDER`, or the distribution error code of a FAILED session), or NULL when Klarna
 * gave none or nothing failed yet. Owned by the library; valid until the next failing `kpos_`
 * call on this thread. Thread-safe: each thread reads its own last error. Never fails.
 */
KPOS_API const char *kpos_last_error_klarna_code(void);

/**
 * Klarna's correlation id of the most recent failure on this thread (quote it to Klarna's
 * merchant support), or NULL when no answer from Klarna carried one or nothing failed yet.
 * Owned by the library; valid until the next failing `kpos_` call on this thread. Thread-safe:
 * each thread reads its own last error. Never fails.
 */
KPOS_API const char *kpos_last_error_correlation_id(void);

/**
 * HTTP status of Klarna's answer for the most recent failure on this thread (e.g. 400, 404,
 * 503), or 0 when the failure had no HTTP answer (refused locally, transport failure) or
 * nothing failed yet. Thread-safe: each thread reads its own last error. Never fails.
 */
KPOS_API uint32_t kpos_last_error_http_status(void);

/**
 * With `KPOS_E_RATE_LIMITED`: how many milliseconds Klarna asked this client to wait (its
 * `Retry-After`) before the next request of the same kind (session creations, or everything
 * else), counted from the failure; 0 when the most recent failure on this thread carried no
 * such wait or nothing failed yet. The same number as `retry_after_ms` of
 * `kpos_last_error_json`. Thread-safe: each thread reads its own last error. Never fails.
 */
KPOS_API uint32_t kpos_last_error_retry_after_ms(void);

/**
 * Lists the open work recorded in the client's journal (config `journal_dir`), oldest first,
 * as a JSON array with one record per line:
 *
 * - `{"kind":"session","session_id","result_url","created_at","merchant_reference1","merchant_reference2","order_amount","purchase_currency"}`:
 *   a session not seen terminal. Continue it with `kpos_session_resume` and wait until it is
 *   terminal; its record then closes. `session_id` and `result_url` are `null` when the create
 *   was sent but its answer never arrived: such a session cannot be resumed (a payment of that
 *   amount and reference may exist: check it in Klarna's merchant portal); it stays listed
 *   until Klarna's session lifetime (46 hours) has passed.
 * - `{"kind":"capture"|"refund"|"cancel"|"release","order_id","idempotency_key","body","created_at"}`:
 *   an Order Management call without a definitive answer. Repeat it (`body` is the request
 *   JSON, `null` for cancel and release) with the same `idempotency_key`: Klarna applies it
 *   once, and the record closes.
 *
 * `created_at` is UTC (`2026-05-01T12:00:00Z`). Finished work is in the history
 * (`kpos_history_report`, `kpos_history_find`). Writes the array to `*json_out` (release it
 * with `kpos_string_free`). Thread-safe; other processes sharing the directory are seen too.
 *
 * Returns `KPOS_OK`; `KPOS_E_INVALID_ARGUMENT` (NULL, freed client, a client without
 * `journal_dir`, or an unreadable journal).
 *
 * # Safety
 * `json_out` must be valid for a write.
 */
KPOS_API
KPOS_MUST_USE
kpos_result kpos_journal_pending(kpos_client *client,
                                 char **json_out);

/**
 * Installs a process-wide log callback receiving messages up to `max_level` (`KPOS_LOG_*`);
 * `cb` NULL removes it. Credentials and webhook secrets are never logged; personal data only at
 * `KPOS_LOG_TRACE`. `userdata` is passed back unchanged and must be usable from any thread.
 *
 * When it returns, the previous callback is not running on any thread and will not be called
 * again, so its `userdata` may be freed. Called from inside a log callback (a callback that
 * replaces or removes itself), the change applies to the following lines and the call returns
 * at once, without waiting for the calls in progress (its own among them).
 *
 * Returns `KPOS_OK`, or `KPOS_E_INVALID_ARGUMENT` for a `max_level` outside 1..5.
 *
 * # Safety
 * `cb` must be a valid function for as long as it is installed and until the
 * `kpos_set_log_callback` that replaces it has returned.
 */
KPOS_API
KPOS_MUST_USE
kpos_result kpos_set_log_callback(kpos_log_callback cb,
                                  void *userdata,
                                  uint32_t max_level);

/**
 * Reads an order: `GET /ordermanagement/v1/orders/{order_id}` (retried on network errors, 429
 * and 5xx). Writes Klarna's order JSON (`status` AUTHORIZED, PART_CAPTURED, CAPTURED,
 * CANCELLED, EXPIRED or CLOSED, `order_amount`, `captured_amount`, `refunded_amount`,
 * `remaining_authorized_amount`, `order_lines`, `captures`, `refunds`, …) to `*order_json_out`;
 * release it with `kpos_string_free`. Thread-safe.
 *
 * Returns `KPOS_OK`; `KPOS_E_INVALID_ARGUMENT` (NULL, freed client, invalid UTF-8, empty order
 * id); `KPOS_E_NOT_FOUND` (Klarna `NO_SUCH_ORDER`); `KPOS_E_PERMISSION_DENIED`;
 * `KPOS_E_RATE_LIMITED`; `KPOS_E_UNKNOWN`; `KPOS_E_TIMEOUT`; `KPOS_E_NETWORK`; `KPOS_E_TLS`;
 * `KPOS_E_PROTOCOL`.
 *
 * # Safety
 * `order_id` must be NULL or NUL-terminated; `order_json_out` must be valid for a write.
 */
KPOS_API
KPOS_MUST_USE
kpos_result kpos_order_get(kpos_client *client,
                           const char *order_id,
                           char **order_json_out);

/**
 * Captures (part of) an order: `POST …/orders/{order_id}/captures` with `capture_json`
 * (`{"captured_amount", "description"?, "reference"?, "order_lines"?, …}`), validated before
 * anything is sent by Klarna's Order Management rules (docs/validation.md): `captured_amount`
 * an integer of minor units from 0 to 200 000 000, `description` and `reference` strings of at
 * most 255 characters, `order_lines` 0 to 1000 lines checked as a session's (a name may be
 * empty, a tax rate above 10000) that need not add up to the amount, `shipping_info` and
 * `shipping_delay` within Klarna's limits; unknown fields pass through.
 *
 * `idempotency_key` (1-64 printable ASCII characters, no spaces) is sent as
 * `Klarna-Idempotency-Key`; NULL makes the library generate a UUID v4. Automatic retries (after
 * a timeout, reset, 429 or 5xx) reuse the key, and so may the caller after an error: Klarna
 * captures once per key. With a journal, the call is recorded before it is sent and stays
 * pending until it succeeded or was refused for good. On success writes the Capture-Id to
 * `*capture_id_out` (release it with `kpos_string_free`). Thread-safe.
 *
 * Returns `KPOS_OK`; `KPOS_E_INVALID_ARGUMENT` (NULL, freed client, invalid UTF-8 or JSON, bad
 * key, unusable journal: nothing was sent); `KPOS_E_BAD_REQUEST` (refused locally, the last
 * error's `field` names the field, or by Klarna); `KPOS_E_CONFLICT` (Klarna
 * `CAPTURE_NOT_ALLOWED`, e.g. above the remaining authorization, or 409); `KPOS_E_NOT_FOUND`
 * (`NO_SUCH_ORDER`); `KPOS_E_PERMISSION_DENIED`; `KPOS_E_RATE_LIMITED` and `KPOS_E_UNKNOWN`
 * (429 / 5xx after retries); `KPOS_E_TIMEOUT`; `KPOS_E_NETWORK`; `KPOS_E_TLS`;
 * `KPOS_E_PROTOCOL`. After a timeout, network, rate-limit or unknown error, repeat the call
 * with the same key.
 *
 * # Safety
 * String arguments must be NULL or NUL-terminated; `capture_id_out` must be valid for a write.
 */
KPOS_API
KPOS_MUST_USE
kpos_result kpos_order_capture(kpos_client *client,
                               const char *order_id,
                               const char *capture_json,
                               const char *idempotency_key,
                               char **capture_id_out);

/**
 * Refunds (part of) a captured order: `POST …/orders/{order_id}/refunds` with `refund_json`
 * (`{"refunded_amount", "description"?, "reference"?, "order_lines"?, …}`), validated before
 * anything is sent like `kpos_order_capture`'s body. The idempotency key, retries and journal
 * work as for `kpos_order_capture`: a refund is applied once per key. On success writes the
 * Refund-Id to `*refund_id_out` (release it with `kpos_string_free`); repeating a refund with
 * its key gives the same Refund-Id. Thread-safe.
 *
 * Returns `KPOS_OK`; `KPOS_E_INVALID_ARGUMENT`; `KPOS_E_BAD_REQUEST`; `KPOS_E_CONFLICT` (Klarna
 * `REFUND_NOT_ALLOWED`, e.g. above the captured amount, or 409); `KPOS_E_NOT_FOUND`;
 * `KPOS_E_PERMISSION_DENIED`; `KPOS_E_RATE_LIMITED`; `KPOS_E_UNKNOWN`; `KPOS_E_TIMEOUT`;
 * `KPOS_E_NETWORK`; `KPOS_E_TLS`; `KPOS_E_PROTOCOL` (as for `kpos_order_capture`).
 *
 * # Safety
 * String arguments must be NULL or NUL-terminated; `refund_id_out` must be valid for a write.
 */
KPOS_API
KPOS_MUST_USE
kpos_result kpos_order_refund(kpos_client *client,
                              const char *order_id,
                              const char *refund_json,
                              const char *idempotency_key,
                              char **refund_id_out);

/**
 * Cancels an order before anything was captured (a void): `POST …/orders/{order_id}/cancel`.
 * `idempotency_key` may be NULL (the library makes one and reuses it for its own retries);
 * journal as for `kpos_order_capture`. Thread-safe.
 *
 * Returns `KPOS_OK`; `KPOS_E_CONFLICT` (Klarna `CANCEL_NOT_ALLOWED` once something was
 * captured: refund instead); `KPOS_E_INVALID_ARGUMENT`; `KPOS_E_NOT_FOUND`;
 * `KPOS_E_PERMISSION_DENIED`; `KPOS_E_RATE_LIMITED`; `KPOS_E_UNKNOWN`; `KPOS_E_TIMEOUT`;
 * `KPOS_E_NETWORK`; `KPOS_E_TLS`; `KPOS_E_PROTOCOL`.
 *
 * # Safety
 * String arguments must be NULL or NUL-terminated.
 */
KPOS_API
KPOS_MUST_USE
kpos_result kpos_order_cancel(kpos_client *client,
                              const char *order_id,
                              const char *idempotency_key);

/**
 * Releases the part of the authorization that will not be captured (the order then closes
 * once its captures are done): `POST …/orders/{order_id}/release-remaining-authorization`.
 * `idempotency_key` may be NULL; journal as for `kpos_order_capture`. Thread-safe.
 *
 * Returns `KPOS_OK`; `KPOS_E_CONFLICT` (Klarna's 403 `NOT_ALLOWED`: the order is cancelled or
 * has no capture yet);
 * `KPOS_E_INVALID_ARGUMENT`; `KPOS_E_NOT_FOUND`; `KPOS_E_PERMISSION_DENIED`;
 * `KPOS_E_RATE_LIMITED`; `KPOS_E_UNKNOWN`; `KPOS_E_TIMEOUT`; `KPOS_E_NETWORK`; `KPOS_E_TLS`;
 * `KPOS_E_PROTOCOL`.
 *
 * # Safety
 * String arguments must be NULL or NUL-terminated.
 */
KPOS_API
KPOS_MUST_USE
kpos_result kpos_order_release_remaining_authorization(kpos_client *client,
                                                       const char *order_id,
                                                       const char *idempotency_key);

/**
 * Draws `text` (UTF-8, e.g. `kpos_session_payment_link`) as a QR code with error correction
 * level M and a quiet zone of 4 modules, in `format` (`KPOS_QR_*`). No network traffic.
 *
 * On success writes the bytes to `*out` and their number to `*len`; release them with
 * `kpos_bytes_free(*out, *len)`. A NUL byte follows the last byte (not counted in `*len`), so
 * the SVG and text formats can be used as C strings. Returns `KPOS_OK`;
 * `KPOS_E_INVALID_ARGUMENT` (NULL, invalid UTF-8, unknown `format`); `KPOS_E_BAD_REQUEST` (empty
 * text, or too long for a QR code: more than 2331 bytes; the last error says so).
 *
 * # Safety
 * `text` must be NULL or NUL-terminated; `out` and `len` must be valid for writes.
 */
KPOS_API
KPOS_MUST_USE
kpos_result kpos_qr_render(const char *text,
                           uint32_t format,
                           uint8_t **out,
                           size_t *len);

/**
 * Validates `order_json` locally (nothing is sent when it is refused), then starts a Klarna
 * in-store session: one `POST /payments/v1/sessions`, never repeated automatically. Fills
 * `acquiring_channel: in_store` and `distribution.method: one_qr` when absent (the older `qr` and
 * `payment_link` are sent as `one_qr`); unknown fields pass through untouched; an
 * `attachment.body` given as a JSON object is serialised for Klarna. The rules and their limits:
 * docs/validation.md.
 *
 * On success writes a new session to `*out` (status `KPOS_STATUS_CREATED`); release it with
 * `kpos_session_free`. Returns `KPOS_OK`; `KPOS_E_INVALID_ARGUMENT` (NULL, freed client, invalid
 * UTF-8 or JSON); `KPOS_E_BAD_REQUEST` (refused locally or by Klarna; the last error's `field`
 * names the first offending field, e.g. `order_lines[1].total_tax_amount`);
 * `KPOS_E_PERMISSION_DENIED`; `KPOS_E_RATE_LIMITED` (Klarna's limit on session creations was
 * reached: the creation is not repeated; the last error's `retry_after_ms` says when to try
 * again, and a creation before then is refused at once with nothing sent); `KPOS_E_UNKNOWN`;
 * `KPOS_E_TIMEOUT`; `KPOS_E_NETWORK`; `KPOS_E_TLS`; `KPOS_E_PROTOCOL` (also, with field
 * `result_url`, when the answer's result_url is not on `api_url`'s origin: it is never called
 * with the credentials).
 * After `KPOS_E_TIMEOUT` or `KPOS_E_NETWORK` the session may exist at Klarna without the till knowing its id: it expires
 * unused, and no money moves until a customer scans a QR the till never showed.
 *
 * With `journal_dir` the session is recorded (and fsynced) before the request is sent and stays
 * listed by `kpos_journal_pending` until it is seen terminal; a journal that cannot be written
 * gives `KPOS_E_INVALID_ARGUMENT` (field `journal_dir`) and nothing is sent.
 *
 * # Safety
 * `order_json` must be NULL or NUL-terminated; `out` must be valid for a write.
 */
KPOS_API
KPOS_MUST_USE
kpos_result kpos_session_create(kpos_client *client,
                                const char *order_json,
                                kpos_session **out);

/**
 * Continues a session created earlier, e.g. after a till restart, from its id and
 * `result_url` (both as returned by the getters, or listed by `kpos_journal_pending`). No
 * network traffic: call `kpos_session_poll` to learn its status. With `journal_dir`, a session
 * the journal lists is matched by its id, and its record closes once the session is seen
 * terminal. A resumed session is followed by polling. With `webhook_secret` configured,
 * `kpos_webhook_verify` takes its callbacks too: one that would change its status makes it read
 * its status from Klarna (one GET), since the callback's token was made for a URL this process
 * never saw and does not vouch for the session the body names. Without `webhook_secret`, its
 * webhook token lived in the old process, and `kpos_webhook_verify` answers its callbacks with
 * `KPOS_E_NOT_FOUND`.
 *
 * Returns `KPOS_OK` or `KPOS_E_INVALID_ARGUMENT` (NULL, freed client, empty id, a result_url
 * that is not an absolute https URL, or plain http to a non-loopback host without
 * `allow_insecure_http`, an unreadable journal). A result_url on another origin (scheme, host,
 * port; default ports normalised) than `api_url` is refused too, with field `result_url`:
 * Klarna's lives on the API host, and the client's credentials go nowhere else.
 *
 * # Safety
 * String arguments must be NULL or NUL-terminated; `out` must be valid for a write.
 */
KPOS_API
KPOS_MUST_USE
kpos_result kpos_session_resume(kpos_client *client,
                                const char *session_id,
                                const char *result_url,
                                kpos_session **out);

/**
 * Klarna's session id. Owned by the session, valid until `kpos_session_free`; NULL for a NULL or
 * freed session.
 *
 * # Safety
 * `s` must be NULL or a handle from this library.
 */
KPOS_API const char *kpos_session_id(const kpos_session *s);

/**
 * The absolute status URL Klarna returned (keep it with the id to resume after a restart).
 * Owned by the session, valid until `kpos_session_free`; NULL for a NULL or freed session.
 *
 * # Safety
 * `s` must be NULL or a handle from this library.
 */
KPOS_API const char *kpos_session_result_url(const kpos_session *s);

/**
 * The last known status (`KPOS_STATUS_*`), without network traffic. `KPOS_STATUS_UNKNOWN` for
 * a NULL or freed session.
 *
 * # Safety
 * `s` must be NULL or a handle from this library.
 */
KPOS_API uint32_t kpos_session_status(const kpos_session *s);

/**
 * Reads the status once from Klarna (GET on the result_url, retried on network errors and
 * 5xx) and writes it to `*status_out`.
 *
 * Returns `KPOS_OK`; `KPOS_E_INVALID_ARGUMENT`; `KPOS_E_PERMISSION_DENIED`; `KPOS_E_NOT_FOUND`;
 * `KPOS_E_RATE_LIMITED` (also at once, with nothing sent, while an earlier `Retry-After` of
 * Klarna to this client has not passed; the last error's `retry_after_ms` says how long); `KPOS_E_UNKNOWN`; `KPOS_E_TIMEOUT`; `KPOS_E_NETWORK`;
 * `KPOS_E_TLS`; `KPOS_E_PROTOCOL`. A status Klarna adds later is `KPOS_STATUS_UNKNOWN`, not an
 * error.
 *
 * # Safety
 * `s` must be NULL or a handle from this library; `status_out` must be valid for a write.
 */
KPOS_API
KPOS_MUST_USE
kpos_result kpos_session_poll(kpos_session *s,
                              uint32_t *status_out);

/**
 * Blocks until the status differs from the one last returned by `kpos_session_poll` /
 * `kpos_session_wait`, or is terminal, polling at the configured `poll_interval_ms` (growing up
 * to 5x while nothing changes, each pause lengthened by a random part of up to a quarter, and
 * honouring Klarna's `Retry-After`). Network failures and Klarna's rate limit (429) in between
 * are waited through until the deadline: after a 429 the next read comes once `Retry-After` has
 * passed, at a random moment of the second after it. Returns within `timeout_ms` plus at most one
 * `request_timeout_ms`, also when many threads wait on sessions of one client (a status read
 * whose pacing slot comes after the deadline is not sent) and when a cancel's DELETE does not
 * answer.
 *
 * Returns `KPOS_OK` with the new status in `*status_out`; `KPOS_E_TIMEOUT` when `timeout_ms`
 * passes (then `*status_out` still receives the last known status); `KPOS_E_CANCELLED` when
 * `kpos_session_cancel` is called meanwhile from another thread (within milliseconds of the
 * cancel's answer, and at the latest at the deadline or one `request_timeout_ms` after the
 * cancel, whichever is later; if Klarna reports the payment COMPLETED instead, that wins and
 * `KPOS_OK` is returned); never `KPOS_E_RATE_LIMITED`: when Klarna's `Retry-After` ends after
 * the deadline, no status read is sent before it ends and the wait returns `KPOS_E_TIMEOUT` at
 * its deadline (a webhook merged meanwhile still ends it at once); `KPOS_E_PERMISSION_DENIED`,
 * `KPOS_E_NOT_FOUND`, `KPOS_E_INVALID_ARGUMENT`.
 *
 * # Safety
 * `s` must be NULL or a handle from this library; `status_out` must be valid for a write.
 */
KPOS_API
KPOS_MUST_USE
kpos_result kpos_session_wait(kpos_session *s,
                              uint32_t timeout_ms,
                              uint32_t *status_out);

/**
 * Klarna's QR code image URL (show it, or render it with your own QR code). Owned by the
 * session, valid until `kpos_session_free`; NULL until the session is distributed.
 *
 * # Safety
 * `s` must be NULL or a handle from this library.
 */
KPOS_API const char *kpos_session_qr_url(const kpos_session *s);

/**
 * The payment link for the customer's phone. Owned by the session, valid until
 * `kpos_session_free`; NULL if Klarna gave none.
 *
 * # Safety
 * `s` must be NULL or a handle from this library.
 */
KPOS_API const char *kpos_session_payment_link(const kpos_session *s);

/**
 * The Klarna order id of a COMPLETED payment (for capture, refund, cancel). Owned by the
 * session, valid until `kpos_session_free`; NULL until COMPLETED.
 *
 * # Safety
 * `s` must be NULL or a handle from this library.
 */
KPOS_API const char *kpos_session_order_id(const kpos_session *s);

/**
 * Why a FAILED session failed: `KPOS_E_BAD_REQUEST`, `KPOS_E_PERMISSION_DENIED` or
 * `KPOS_E_UNKNOWN` (Klarna's distribution error codes; the detail goes to the last error).
 * `KPOS_OK` when the session has not failed; `KPOS_E_INVALID_ARGUMENT` for a NULL or freed
 * session.
 *
 * # Safety
 * `s` must be NULL or a handle from this library.
 */
KPOS_API KPOS_MUST_USE kpos_result kpos_session_failure(const kpos_session *s);

/**
 * Cancels the payment at Klarna (`DELETE` of the session) and wakes a `kpos_session_wait` on
 * another thread. Callable from any thread at any moment; idempotent (cancelling a CANCELED,
 * FAILED or EXPIRED session is `KPOS_OK`). Klarna recommends cancelling when the till gives up
 * waiting. Ends a `kpos_session_watch`: when it returns, the listener's final call (CANCELED,
 * or COMPLETED) has returned; see `kpos_session_watch` for a cancel from inside a listener.
 *
 * Returns `KPOS_OK`; `KPOS_E_CONFLICT` once the payment COMPLETED (refund it instead; the status
 * becomes COMPLETED); `KPOS_E_NOT_FOUND`; `KPOS_E_INVALID_ARGUMENT`; transport errors (then call
 * again). A cancel is not refused because an earlier request of this client met Klarna's rate
 * limit: while that `Retry-After` runs (up to one `request_timeout_ms`) the cancel waits for it
 * to end and is sent then; only a longer one gives `KPOS_E_RATE_LIMITED` at once, nothing sent
 * (call again after the last error's `retry_after_ms`).
 *
 * # Safety
 * `s` must be NULL or a handle from this library.
 */
KPOS_API KPOS_MUST_USE kpos_result kpos_session_cancel(kpos_session *s);

/**
 * Releases a session (strings from its getters become invalid). Does not cancel it at Klarna.
 * Ends a `kpos_session_watch` without a final call: when it returns, the listener is not
 * running and will not run again (from inside the session's own listener: the running call is
 * the last). NULL and an already freed session are no-ops.
 *
 * # Safety
 * `s` must be NULL or a handle from this library, not in use by another thread.
 */
KPOS_API void kpos_session_free(kpos_session *s);

/**
 * The status name, e.g. `"COMPLETED"`. Static; `"UNKNOWN"` for a number this version does not
 * know.
 */
KPOS_API const char *kpos_status_name(uint32_t status);

/**
 * 1 for COMPLETED, CANCELED, FAILED and EXPIRED (the session never moves again), else 0.
 */
KPOS_API int32_t kpos_status_is_terminal(uint32_t status);

/**
 * The English message Klarna's in-store best practices recommend showing for a status:
 * DISTRIBUTED "Scan the QR code with your phone", ACCESSED "Payment in progress", COMPLETED
 * "Payment is done", CANCELED "Payment is canceled", FAILED "Something went wrong" (show the
 * session id next to it, for Klarna's support), EXPIRED "The payment has expired", CREATED and
 * WAITING "Preparing the Klarna payment...". Static, never freed; `KPOS_STATUS_UNKNOWN` and any
 * number this version does not know give "Checking the payment status...".
 */
KPOS_API const char *kpos_status_display_text(uint32_t status);

/**
 * Follows the session in the background and calls `cb(userdata, s, status)`: first, at once,
 * with the current status, then once per status change, in order, and exactly once with the
 * final status (COMPLETED, CANCELED, FAILED or EXPIRED; after that, never again). The statuses come
 * from status reads paced like `kpos_session_wait`'s (`poll_interval_ms`, growing while nothing
 * changes; `webhook_poll_interval_ms` for a session followed by webhook, whose callbacks passed
 * to `kpos_webhook_verify` reach the listener at once), and from the till's own
 * `kpos_session_poll` / `kpos_session_wait` / `kpos_session_cancel`. A failed status read is
 * logged and read again later; it ends nothing. Watching a session already watched replaces
 * the listener (the old one is ended first, as by `kpos_session_watch(s, NULL, NULL)`).
 *
 * Ending a watch: `kpos_session_watch(s, NULL, NULL)` (no final call) and
 * `kpos_session_free(s)` end it; `kpos_session_cancel(s)` ends it after the final call with the
 * cancel's outcome (CANCELED, or COMPLETED when the payment completed first) has returned, or
 * without a final call when the cancel fails. When any of them returns, `cb` is not running and
 * will not run again. Called from inside a listener they do not wait: from inside this
 * session's own listener the running call is the last one (after `kpos_session_cancel` the
 * final call still follows, once the running call has returned); any other session's listener
 * is not running then (listeners run one at a time).
 *
 * Threads: the library runs one poller thread per client with watched sessions and one
 * listener thread for the process (both start when needed and end when idle), so 100 watched
 * sessions of one client take two threads. A watch belongs to the process that started it: in
 * a `fork()`ed child its listener is never called, and ending it there waits for nothing.
 *
 * Returns `KPOS_OK`; `KPOS_E_INVALID_ARGUMENT` for a NULL or freed session, or `cb` NULL with
 * `userdata` not NULL; `KPOS_E_INTERNAL` when a thread cannot be started.
 *
 * # Safety
 * `cb` must stay callable and `userdata` usable from the listener thread until the watch ends.
 */
KPOS_API
KPOS_MUST_USE
kpos_result kpos_session_watch(kpos_session *s,
                               kpos_status_listener cb,
                               void *userdata);

/**
 * The text to show the cashier for `status` (`KPOS_STATUS_*`) in `language`, a BCP 47 tag such
 * as `"sv"`, `"sv-SE"`, `"nb-NO"`, `"de-AT"` or `"fr-BE"` (case-insensitive; `_` is read as
 * `-`): the region's own text where it has one (`en-GB` writes "cancelled"), else the
 * language's, else English. NULL or an unknown language gives English, an unknown status the
 * neutral "checking" text of the language. Static, never freed, never NULL.
 *
 * Languages: en, sv, nb (also for `no` and `nn`), da, fi, de, nl, fr, es, it, pl, cs, pt
 * (docs/events.md has the table). Every text fits a two-line display of 20 characters per
 * line, wrapped at spaces; the longest is 39 characters (Portuguese, "Digitalizar o código QR
 * com o telemóvel").
 *
 * # Safety
 * `language` must be NULL or a NUL-terminated string.
 */
KPOS_API const char *kpos_status_display_text_for(uint32_t status, const char *language);

/**
 * The text to show the customer for `status` in `language` (as for
 * `kpos_status_display_text_for`): DISTRIBUTED "Scan the QR code with your phone camera",
 * ACCESSED "Confirm in the Klarna app", COMPLETED "Payment approved. Thank you!", ... in the
 * customer's language. Every text fits a two-line display of 32 characters per line, wrapped at
 * spaces; the longest are 45 characters (German, "Scannen Sie den QR-Code mit Ihrer
 * Handykamera", and Dutch). Static, never freed, never NULL.
 *
 * # Safety
 * `language` must be NULL or a NUL-terminated string.
 */
KPOS_API const char *kpos_status_customer_text_for(uint32_t status, const char *language);

/**
 * Verifies a webhook call Klarna made to a callback URL of this client's sessions (config key
 * `webhook_url`) and merges the status it reports into its session. Call it from the receiver,
 * on any thread, for every call to the `webhook_url` path; then answer the HTTP request as the
 * result says.
 *
 * With config key `webhook_secret`, each callback token is HMAC-SHA256 under that secret of
 * the callback's reference, so any client configured with the same secret (or with it as
 * `webhook_secret_previous`, during a rotation) verifies the call, not only the one that
 * created the session:
 * - a client with no live session for the call (e.g. a chain's central receiver, which then
 *   relays target and body to the till over its own channel) authenticates it and returns
 *   `KPOS_OK` with the session id and the status the body reports, read from the body and
 *   applied to nothing. Such a status is NOT confirmed: a reported COMPLETED is only a hint
 *   (the till's own `kpos_webhook_verify` or a poll confirms it with Klarna). The body must
 *   name its `session_id` (at most 256 bytes, no control characters, no `/`;
 *   `KPOS_E_BAD_REQUEST` otherwise);
 * - the till owning the session applies the relayed call to it as described below, confirming
 *   COMPLETED with one GET. A session resumed with `kpos_session_resume` takes no status from
 *   the body (the token vouches for the callback URL, not for the session the body names): a
 *   call that would change its status makes it read its status with one GET instead.
 *
 * The token authenticates the callback URL (made by a holder of the secret, for a reference
 * used by one session only), never the body: Klarna does not sign bodies.
 *
 * `target` (`target_len` bytes) is what the call was received on: the full URL, the request
 * target (`/path?query`) or the query alone; the library reads its `kpos_ref` and `kpos_token`
 * parameters. `body` (`body_len` bytes) is the request body (the status payload JSON). Both
 * are untrusted network input passed as bytes with their length, exactly as received: they
 * need not be UTF-8 and may hold NUL bytes, which are read like any other byte and never end
 * the input early (a NUL in the token or reference fails authentication,
 * `KPOS_E_PERMISSION_DENIED` or `KPOS_E_NOT_FOUND`; a NUL in the body makes it no status
 * payload, `KPOS_E_BAD_REQUEST`). Nothing about their content is reported as
 * `KPOS_E_INVALID_ARGUMENT`. An empty input is a non-NULL pointer with length 0.
 *
 * What happens: the token is compared in constant time with the one made for the session the
 * reference names, before anything else, so a refused call leaves every session untouched.
 * The payload is read like a polled one and merged so that repeated, late and out-of-order
 * calls never move a session backwards (a terminal status is final). A reported COMPLETED is
 * not believed from the callback: as Klarna advises, the library confirms it with a GET of
 * the session's result_url before the session becomes COMPLETED; callbacks of one session
 * arriving while that GET is in flight share it. A callback that arrives while
 * `kpos_session_create` still waits for Klarna's answer waits for it too. Either way the call
 * blocks for at most `request_timeout_ms` in all. A
 * `kpos_session_wait` on the session returns as soon as its status changed.
 *
 * On success writes the session's status after the call (`KPOS_STATUS_*`; e.g. COMPLETED even
 * for a late ACCESSED), or, for a call authenticated by `webhook_secret` with no live session
 * here, the status it reports (unconfirmed), to `*status_out` and, unless `session_id_out` is
 * NULL, Klarna's session id to `*session_id_out` (release it with `kpos_string_free`).
 *
 * Returns, with the HTTP answer the receiver should give:
 * `KPOS_OK` (answer 200);
 * `KPOS_E_PERMISSION_DENIED`: no `kpos_ref`/`kpos_token`, or a token that does not match,
 * i.e. a forged, altered or truncated call, one made with another secret, or a token of one
 * session's callback presented with another's reference (answer 403; the request did not
 * authenticate, which is why this is not `KPOS_E_BAD_REQUEST`); tokens are compared in
 * constant time;
 * `KPOS_E_NOT_FOUND`: without `webhook_secret`, no live session of this client has that
 * reference: it was freed, resumed after a restart, or created by another client (answer 404;
 * fall back to polling);
 * `KPOS_E_BAD_REQUEST`: authenticated, but the body is not a status payload of that session
 * (answer 400);
 * `KPOS_E_TIMEOUT`, `KPOS_E_NETWORK`, `KPOS_E_UNKNOWN`, `KPOS_E_RATE_LIMITED`, ...: the
 * confirming GET failed (a refusal by Klarna, e.g. 401 for wrong credentials, is reported as
 * `KPOS_E_UNKNOWN` with Klarna's detail, never as one of the verdicts above), or the session's
 * creation did not finish in time; the session is unchanged (answer 503, so Klarna delivers
 * again);
 * `KPOS_E_INVALID_ARGUMENT`: NULL `client`, `target`, `body` or `status_out`, a freed client,
 * or a length above `PTRDIFF_MAX` (answer 500).
 * For this function the answers above replace `kpos_result_action`'s advice (a forged call is
 * no reason to contact Klarna). The token never appears in log messages or in the last error.
 *
 * Thread-safe: any number of threads may verify calls on one client at once.
 *
 * # Safety
 * `target` and `body` must be NULL or readable for `target_len` and `body_len` bytes;
 * `status_out` must be valid for a write; `session_id_out` must be NULL or valid for a write.
 */
KPOS_API
KPOS_MUST_USE
kpos_result kpos_webhook_verify(kpos_client *client,
                                const uint8_t *target,
                                size_t target_len,
                                const uint8_t *body,
                                size_t body_len,
                                char **session_id_out,
                                uint32_t *status_out);

/**
 * `kpos_client_new` with the configuration JSON as UTF-16 (NULL: from the environment, as
 * there). Invalid UTF-16 gives `KPOS_E_INVALID_ARGUMENT` with field `config_json`.
 *
 * # Safety
 * `config_json` must be NULL or a NUL-terminated UTF-16 string; `out` as for `kpos_client_new`.
 */
KPOS_API
KPOS_MUST_USE
kpos_result KPOS_STDCALL kpos_client_new_w(const uint16_t *config_json,
                              kpos_client **out);

/**
 * `kpos_client_free` for stdcall callers.
 *
 * # Safety
 * As for `kpos_client_free`.
 */
KPOS_API void KPOS_STDCALL kpos_client_free_w(kpos_client *client);

/**
 * `kpos_session_create` with the order JSON as UTF-16 (names and references may carry any
 * Unicode text, e.g. "Größe"). Invalid UTF-16 gives `KPOS_E_INVALID_ARGUMENT` with field
 * `order_json` and nothing is sent; every other result as for `kpos_session_create`.
 *
 * # Safety
 * `order_json` must be NULL or a NUL-terminated UTF-16 string; `out` must be valid for a write.
 */
KPOS_API
KPOS_MUST_USE
kpos_result KPOS_STDCALL kpos_session_create_w(kpos_client *client,
                                  const uint16_t *order_json,
                                  kpos_session **out);

/**
 * `kpos_session_wait` for stdcall callers: the same arguments and results.
 *
 * # Safety
 * As for `kpos_session_wait`.
 */
KPOS_API
KPOS_MUST_USE
kpos_result KPOS_STDCALL kpos_session_wait_w(kpos_session *s,
                                uint32_t timeout_ms,
                                uint32_t *status_out);

/**
 * `kpos_session_poll` for stdcall callers: the same arguments and results.
 *
 * # Safety
 * As for `kpos_session_poll`.
 */
KPOS_API KPOS_MUST_USE kpos_result KPOS_STDCALL kpos_session_poll_w(kpos_session *s, uint32_t *status_out);

/**
 * `kpos_session_cancel` for stdcall callers: the same argument and results.
 *
 * # Safety
 * As for `kpos_session_cancel`.
 */
KPOS_API KPOS_MUST_USE kpos_result KPOS_STDCALL kpos_session_cancel_w(kpos_session *s);

/**
 * `kpos_session_free` for stdcall callers.
 *
 * # Safety
 * As for `kpos_session_free`.
 */
KPOS_API void KPOS_STDCALL kpos_session_free_w(kpos_session *s);

/**
 * Klarna's session id into the caller's buffer `buf` of `cap` UTF-16 units: writes at most
 * `cap` units including the terminating NUL (never more; always terminated when `cap` > 0; a
 * string that does not fit is cut, never inside a surrogate pair) and returns the number of
 * units the whole id needs without the NUL, so `cap` 0 (with `buf` NULL) sizes a buffer and a
 * return value >= `cap` means it was cut. Returns -1 with `KPOS_E_INVALID_ARGUMENT` as the
 * last error for a NULL or freed session, a negative `cap`, or a NULL `buf` with `cap` > 0
 * (the buffer is then left empty when it can be written).
 *
 * # Safety
 * `s` must be NULL or a handle from this library; `buf` must be NULL or valid for `cap` writes.
 */
KPOS_API int32_t KPOS_STDCALL kpos_session_id_w(const kpos_session *s, uint16_t *buf, int32_t cap);

/**
 * Klarna's QR code image URL into the caller's buffer, as `kpos_session_id_w`; 0 (an empty
 * buffer) until the session is distributed.
 *
 * # Safety
 * As for `kpos_session_id_w`.
 */
KPOS_API int32_t KPOS_STDCALL kpos_session_qr_url_w(const kpos_session *s, uint16_t *buf, int32_t cap);

/**
 * The payment link into the caller's buffer, as `kpos_session_id_w`; 0 (an empty buffer) when
 * Klarna gave none.
 *
 * # Safety
 * As for `kpos_session_id_w`.
 */
KPOS_API int32_t KPOS_STDCALL kpos_session_payment_link_w(const kpos_session *s, uint16_t *buf, int32_t cap);

/**
 * The Klarna order id of a COMPLETED payment into the caller's buffer, as `kpos_session_id_w`;
 * 0 (an empty buffer) until COMPLETED.
 *
 * # Safety
 * As for `kpos_session_id_w`.
 */
KPOS_API int32_t KPOS_STDCALL kpos_session_order_id_w(const kpos_session *s, uint16_t *buf, int32_t cap);

/**
 * The receipt lines of a COMPLETED payment (as `kpos_session_receipt_text`, lines separated by
 * `\n`: VB6 tills print them after `Replace(text, vbLf, vbCrLf)`) into the caller's buffer, as
 * `kpos_session_id_w` writes, in `language` given as UTF-16 (NULL or an unknown tag: English).
 * Returns -1 with the last error set for what `kpos_session_receipt_text` refuses:
 * `KPOS_E_CONFLICT` when the session is not COMPLETED, `KPOS_E_INVALID_ARGUMENT` for a NULL or
 * freed session, a session resumed without its journal record, a `language` that is not valid
 * UTF-16, a negative `cap`, or a NULL `buf` with `cap` > 0.
 *
 * # Safety
 * `s` must be NULL or a handle from this library; `language` must be NULL or a NUL-terminated
 * UTF-16 string; `buf` must be NULL or valid for `cap` writes.
 */
KPOS_API
int32_t KPOS_STDCALL kpos_session_receipt_text_w(const kpos_session *s,
                                    const uint16_t *language,
                                    uint16_t *buf,
                                    int32_t cap);

/**
 * `kpos_order_capture` with its strings as UTF-16 (`idempotency_key` may be NULL, but pass
 * one: it is how an id that did not fit is read again) and the Capture-Id written into the
 * caller's buffer `capture_id` of `capture_id_cap` units as `kpos_session_id_w` writes (cap 0
 * with NULL allowed). `*capture_id_len` (may be NULL) receives the units the whole id needs
 * without the NUL; when it is >= `capture_id_cap` the id was cut, and the capture was made all
 * the same: repeat the call with the same idempotency key and a larger buffer (Klarna answers
 * with the same id and captures once). The buffer and the strings are checked before anything
 * is sent: a negative cap, a NULL buffer with cap > 0 or invalid UTF-16 give
 * `KPOS_E_INVALID_ARGUMENT` naming the argument. Every other result as for
 * `kpos_order_capture`; the buffer and `*capture_id_len` are written only on `KPOS_OK`.
 *
 * # Safety
 * String arguments must be NULL or NUL-terminated UTF-16; `capture_id` must be NULL or valid
 * for `capture_id_cap` writes; `capture_id_len` must be NULL or valid for a write.
 */
KPOS_API
KPOS_MUST_USE
kpos_result KPOS_STDCALL kpos_order_capture_w(kpos_client *client,
                                 const uint16_t *order_id,
                                 const uint16_t *capture_json,
                                 const uint16_t *idempotency_key,
                                 uint16_t *capture_id,
                                 int32_t capture_id_cap,
                                 int32_t *capture_id_len);

/**
 * `kpos_order_refund` with its strings as UTF-16 and the Refund-Id written into the caller's
 * buffer `refund_id` of `refund_id_cap` units, `*refund_id_len` (may be NULL) receiving the
 * units it needs: exactly as `kpos_order_capture_w` (a refund is made once per idempotency
 * key, and repeating it with its key gives the same Refund-Id). Every other result as for
 * `kpos_order_refund`.
 *
 * # Safety
 * As for `kpos_order_capture_w`.
 */
KPOS_API
KPOS_MUST_USE
kpos_result KPOS_STDCALL kpos_order_refund_w(kpos_client *client,
                                const uint16_t *order_id,
                                const uint16_t *refund_json,
                                const uint16_t *idempotency_key,
                                uint16_t *refund_id,
                                int32_t refund_id_cap,
                                int32_t *refund_id_len);

/**
 * The message of the most recent failing call on this thread (as `kpos_last_error_message`)
 * into the caller's buffer, as `kpos_session_id_w` writes; 0 when nothing failed yet. A
 * refused buffer returns -1 and becomes the last error itself.
 *
 * # Safety
 * `buf` must be NULL or valid for `cap` writes.
 */
KPOS_API int32_t KPOS_STDCALL kpos_last_error_message_w(uint16_t *buf, int32_t cap);

/**
 * `kpos_last_error_code` for stdcall callers.
 */
KPOS_API KPOS_MUST_USE kpos_result KPOS_STDCALL kpos_last_error_code_w(void);

/**
 * The status name (as `kpos_status_name`, e.g. "COMPLETED") into the caller's buffer, as
 * `kpos_session_id_w` writes.
 *
 * # Safety
 * `buf` must be NULL or valid for `cap` writes.
 */
KPOS_API int32_t KPOS_STDCALL kpos_status_name_w(uint32_t status, uint16_t *buf, int32_t cap);

/**
 * The text to show for a status (as `kpos_status_display_text`) into the caller's buffer, as
 * `kpos_session_id_w` writes.
 *
 * # Safety
 * `buf` must be NULL or valid for `cap` writes.
 */
KPOS_API int32_t KPOS_STDCALL kpos_status_display_text_w(uint32_t status, uint16_t *buf, int32_t cap);

/**
 * The library version, "MAJOR.MINOR.PATCH", into the caller's buffer, as `kpos_session_id_w`
 * writes.
 *
 * # Safety
 * `buf` must be NULL or valid for `cap` writes.
 */
KPOS_API int32_t KPOS_STDCALL kpos_version_w(uint16_t *buf, int32_t cap);

#ifdef __cplusplus
}  /* extern "C" */
#endif

#endif  /* KLARNA_POS_H */
