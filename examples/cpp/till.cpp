/*
 * till.cpp: take one Klarna in-store payment from the command line, with klarna_pos.hpp.
 *
 *   till ORDER.json [--timeout-ms N] [--short-code DIGITS] [--verbose]
 *   till --check [--verbose]
 *
 * Credentials and endpoint come from the environment (KLARNA_API_URL, KLARNA_USERNAME,
 * KLARNA_PASSWORD). Progress goes to stdout as one `key=value` line per event, flushed at once:
 *
 *   session_id=<id>
 *   qr_url=<url>                  show this QR code to the customer
 *   payment_link=<url>            (when Klarna gives one)
 *   status=<STATUS>               on every change: DISTRIBUTED, ACCESSED, COMPLETED, ...
 *   order_id=<id>                 when the payment COMPLETED
 *   error=<KPOS_E_NAME> <message> correlation_id=<id-or-empty>
 *
 * Exit status: 0 COMPLETED; 2 CANCELED, FAILED or EXPIRED (also when --timeout-ms runs out: the
 * till then cancels the session, as Klarna recommends); 1 any other library error; 64 a mistake
 * on the command line. --check prints the health check's JSON report instead (exit 0 when every
 * step passed, else 1); --verbose the library's debug log on stderr. Behaves exactly like
 * examples/c/till.c.
 *
 * Build (from the repository root, after cargo build):
 *   g++ -std=c++11 -Wall -Wextra -Werror -I include examples/cpp/till.cpp \
 *       -L target/debug -lklarna_pos -Wl,-rpath,target/debug -o till
 */

#include <chrono>
#include <cstdint>
#include <fstream>
#include <iostream>
#include <iterator>
#include <stdexcept>
#include <string>

#include "klarna_pos.hpp"

namespace {

const int exit_completed = 0;
const int exit_library_error = 1;
const int exit_not_paid = 2;
const int exit_usage = 64;

/* How long the till waits for the customer when --timeout-ms is not given. */
const unsigned long default_timeout_ms = 120000;

const char usage[] = "usage: till ORDER.json [--timeout-ms N] [--short-code DIGITS] [--verbose]\n"
                     "       till --check [--verbose]";

/* --verbose: the library's log lines on stderr (logging is process-wide: a C callback). */
extern "C" void log_to_stderr(void *, std::uint32_t level, const char *message)
{
    static const char *const names[] = {"", "error", "warn", "info", "debug", "trace"};
    std::cerr << "klarna-pos " << (level <= 5 ? names[level] : "?") << ": " << message << std::endl;
}


struct usage_error : std::runtime_error {
    explicit usage_error(const std::string &what) : std::runtime_error(what) {}
};

/* One `key=value` line, flushed at once: scripts read the till's output while it runs. */
void emit(const std::string &key, const std::string &value)
{
    std::cout << key << '=' << value << std::endl;
}

/* The error= line: code name, message on one line, and the correlation id for Klarna support. */
void report_error(const klarna_pos::error &e)
{
    std::string message = e.message();
    for (std::string::size_type i = 0; i < message.size(); ++i)
        if (static_cast<unsigned char>(message[i]) < 0x20)
            message[i] = ' ';
    std::cout << "error=" << e.name() << ' ' << message << " correlation_id=" << e.correlation_id()
              << std::endl;
}

bool all_digits(const std::string &s)
{
    return !s.empty() && s.find_first_not_of("0123456789") == std::string::npos;
}

std::string::size_type skip_space(const std::string &s, std::string::size_type at)
{
    std::string::size_type next = s.find_first_not_of(" \t\r\n", at);
    return next == std::string::npos ? s.size() : next;
}

/*
 * The order with distribution.short_code set, for the static-QR flow where the customer reads a
 * code from the store's printed QR (the library checks the 2-20 digit rule). Plain text
 * surgery, which is why the short code must be digits only. Throws usage_error for an order that
 * has a short code already or a distribution that is not an object; a text that is not a JSON
 * object goes to the library unchanged, which reports it.
 */
std::string with_short_code(const std::string &order, const std::string &digits)
{
    if (order.find("\"short_code\"") != std::string::npos)
        throw usage_error("has a short_code already; drop it or --short-code");
    const std::string key = "\"distribution\"";
    std::string::size_type at = std::string::npos;
    bool inside_distribution = false;
    std::string::size_type found = order.find(key);
    if (found != std::string::npos) {
        /* The key only counts when a ':' follows it. */
        std::string::size_type p = skip_space(order, found + key.size());
        if (p < order.size() && order[p] == ':') {
            p = skip_space(order, p + 1);
            if (p >= order.size() || order[p] != '{')
                throw usage_error("has a distribution that is not an object");
            inside_distribution = true;
            at = p + 1;
        }
    }
    if (at == std::string::npos) {
        std::string::size_type first = skip_space(order, 0);
        if (first >= order.size() || order[first] != '{')
            return order;
        at = first + 1;
    }
    std::string::size_type next = skip_space(order, at);
    std::string separator = next < order.size() && order[next] == '}' ? "" : ",";
    std::string member = inside_distribution
                             ? "\"short_code\":\"" + digits + "\"" + separator
                             : "\"distribution\":{\"short_code\":\"" + digits + "\"}" + separator;
    return order.substr(0, at) + member + order.substr(at);
}

/*
 * Prints whatever became known: the QR code and payment link once the session is distributed
 * (before its status line, so the cashier's screen can show it), then the status when it changed.
 */
class progress {
public:
    explicit progress(const klarna_pos::session &session) : session_(session) {}

    void report(klarna_pos::status status)
    {
        if (!qr_shown_) {
            std::string qr_url = session_.qr_url();
            if (!qr_url.empty()) {
                emit("qr_url", qr_url);
                std::string link = session_.payment_link();
                if (!link.empty())
                    emit("payment_link", link);
                qr_shown_ = true;
            }
        }
        if (status != shown_) {
            emit("status", klarna_pos::status_name(status));
            shown_ = status;
        }
    }

private:
    const klarna_pos::session &session_;
    klarna_pos::status shown_ = klarna_pos::status::created; /* CREATED is local */
    bool qr_shown_ = false;
};

/* The exit status for a session that reached a terminal status, printing its outcome. */
int finish(const klarna_pos::session &session, klarna_pos::status status)
{
    if (status == klarna_pos::status::completed) {
        /* The order is placed: keep the order id for capture, refund or cancel later. */
        emit("order_id", session.order_id());
        return exit_completed;
    }
    if (status == klarna_pos::status::failed) {
        /* BAD_REQUEST, PERMISSION_DENIED or UNKNOWN, with Klarna's detail. */
        std::unique_ptr<klarna_pos::error> failure = session.failure();
        if (failure)
            report_error(*failure);
    }
    return exit_not_paid;
}

/*
 * Follows the session until it is terminal or the till's own deadline passes. Klarna advises a
 * POS to give up after a time of its choosing and cancel actively, so a customer cannot pay for
 * a sale the till has abandoned.
 */
int follow(klarna_pos::session &session, unsigned long timeout_ms)
{
    typedef std::chrono::steady_clock clock;
    const clock::time_point deadline = clock::now() + std::chrono::milliseconds(timeout_ms);
    progress shown(session);
    for (;;) {
        clock::time_point now = clock::now();
        if (now >= deadline)
            break;
        klarna_pos::status status;
        try {
            /* Blocks until the status changes; polling and back-off happen in the library. */
            status = session.wait(std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now));
        } catch (const klarna_pos::error &e) {
            if (e.code() == KPOS_E_TIMEOUT) {
                shown.report(session.status());
                break;
            }
            report_error(e);
            /* Giving up: make sure the customer can no longer pay this session. */
            try {
                session.cancel();
            } catch (const klarna_pos::error &) {
            }
            return exit_library_error;
        }
        shown.report(status);
        if (klarna_pos::is_terminal(status))
            return finish(session, status);
    }

    /* Out of time: cancel. If the customer completed the payment meanwhile, Klarna refuses the
     * cancel with KPOS_E_CONFLICT and the session reports COMPLETED: the sale is paid. */
    try {
        session.cancel();
    } catch (const klarna_pos::error &e) {
        if (e.code() != KPOS_E_CONFLICT) {
            report_error(e);
            return exit_library_error;
        }
    }
    shown.report(session.status());
    return finish(session, session.status());
}

/* --check: the report on stdout, then an error= line when a step failed. */
int run_check()
{
    try {
        klarna_pos::client client = klarna_pos::client::from_env();
        klarna_pos::check_result r = client.check();
        std::cout << r.report_json << std::endl;
        if (r.code == KPOS_OK)
            return exit_completed;
        std::string message = kpos_last_error_message();
        std::string prefix = std::string(kpos_result_name(r.code)) + ": ";
        if (message.compare(0, prefix.size(), prefix) == 0)
            message = message.substr(prefix.size());
        std::cout << "error=" << kpos_result_name(r.code) << ' ' << message << " correlation_id="
                  << std::endl;
        return exit_library_error;
    } catch (const klarna_pos::error &e) {
        report_error(e);
        return exit_library_error;
    }
}

} // namespace

int main(int argc, char **argv)
{
    std::string order_path, short_code, order;
    unsigned long timeout_ms = default_timeout_ms;
    bool check = false;
    try {
        for (int i = 1; i < argc; ++i) {
            std::string arg = argv[i];
            if (arg == "--timeout-ms" || arg == "--short-code") {
                if (i + 1 >= argc)
                    throw usage_error(usage);
                std::string value = argv[++i];
                if (arg == "--timeout-ms") {
                    if (!all_digits(value) || value.size() > 10 || std::stoull(value) > 0xFFFFFFFFull)
                        throw usage_error("till: --timeout-ms needs a number of milliseconds");
                    timeout_ms = static_cast<unsigned long>(std::stoull(value));
                } else {
                    if (!all_digits(value) || value.size() > 32)
                        throw usage_error("till: --short-code needs the digits the customer read out");
                    short_code = value;
                }
            } else if (arg == "--check") {
                check = true;
            } else if (arg == "--verbose") {
                if (kpos_set_log_callback(log_to_stderr, nullptr, KPOS_LOG_DEBUG) != KPOS_OK)
                    return exit_library_error;
            } else if (arg[0] == '-' || !order_path.empty()) {
                throw usage_error(usage);
            } else {
                order_path = arg;
            }
        }
        if (check && !order_path.empty())
            throw usage_error(usage);
        if (check)
            return run_check();
        if (order_path.empty())
            throw usage_error(usage);
        std::ifstream file(order_path.c_str(), std::ios::binary);
        if (!file)
            throw usage_error("till: cannot read " + order_path);
        order.assign(std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>());
        if (file.bad())
            throw usage_error("till: cannot read " + order_path);
        if (!short_code.empty()) {
            try {
                order = with_short_code(order, short_code);
            } catch (const usage_error &e) {
                throw usage_error("till: " + order_path + " " + e.what());
            }
        }
    } catch (const usage_error &e) {
        std::cerr << e.what() << std::endl;
        return exit_usage;
    }

    try {
        /* Endpoint and credentials from KLARNA_API_URL, KLARNA_USERNAME, KLARNA_PASSWORD.
         * A real till creates one client at start-up and shares it. */
        klarna_pos::client client = klarna_pos::client::from_env();
        /* Validated locally first: nothing is sent when a field is wrong, and the error names
         * the field (e.g. order_lines[1].total_tax_amount). */
        klarna_pos::session session = client.create_session(order);
        /* Keep the id (and result_url()) so that a restarted till can resume. */
        emit("session_id", session.id());
        return follow(session, timeout_ms);
    } catch (const klarna_pos::error &e) {
        report_error(e);
        return exit_library_error;
    }
}
