/*
 * till.c: take one Klarna in-store payment from the command line.
 *
 *   till ORDER.json [--timeout-ms N] [--short-code DIGITS] [--language TAG] [--verbose]
 *   till --check [--verbose]
 *
 * Credentials and endpoint come from the environment (KLARNA_API_URL, KLARNA_USERNAME,
 * KLARNA_PASSWORD). Progress goes to stdout as one `key=value` line per event, flushed at
 * once so that a script can follow the payment live:
 *
 *   session_id=<id>
 *   qr_url=<url>                  show this QR code to the customer
 *   payment_link=<url>            (when Klarna gives one)
 *   status=<STATUS>               on every change: DISTRIBUTED, ACCESSED, COMPLETED, ...
 *   display=<text>                with --language: the cashier's text for the status
 *   customer=<text>               with --language: the customer display's text
 *   order_id=<id>                 when the payment COMPLETED
 *   error=<KPOS_E_NAME> <message> correlation_id=<id-or-empty>
 *
 * --check runs the library's health check (DNS, TCP, proxy, TLS, credentials, clock) instead
 * of a payment and prints its JSON report; exit status 0 when every step passed, 1 otherwise.
 * --verbose prints the library's log (debug level) to stderr. Without it the log can still be
 * turned on with KLARNA_POS_LOG=debug (and KLARNA_POS_LOG_FILE=path), without any code.
 *
 * Exit status: 0 COMPLETED; 2 CANCELED, FAILED or EXPIRED (also when --timeout-ms runs out:
 * the till then cancels the session, as Klarna recommends); 1 any other library error;
 * 64 a mistake on the command line.
 *
 * --language takes a BCP 47 tag (sv, sv-SE, nb-NO, de-AT, fr-BE, ...): the cashier's and the
 * customer's texts come in that language (region, then language, then English).
 *
 * Build (from the repository root): `cargo build && make -C examples/c`, or by hand
 *   gcc -std=c99 -Wall -Wextra -Werror -I include examples/c/till.c \
 *       -L target/debug -lklarna_pos -Wl,-rpath,target/debug
 */

#define _POSIX_C_SOURCE 200809L /* clock_gettime */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifdef _WIN32
#include <io.h>
#include <windows.h>
#define stderr_is_terminal() _isatty(_fileno(stderr))
#else
#include <unistd.h>
#define stderr_is_terminal() isatty(STDERR_FILENO)
#endif

#include "klarna_pos.h"

#define EXIT_COMPLETED 0
#define EXIT_LIBRARY_ERROR 1
#define EXIT_NOT_PAID 2
#define EXIT_USAGE 64

/* How long the till waits for the customer when --timeout-ms is not given. */
#define DEFAULT_TIMEOUT_MS 120000u

static void usage(void)
{
    fprintf(stderr, "usage: till ORDER.json [--timeout-ms N] [--short-code DIGITS] [--language TAG]"
                    " [--verbose]\n"
                    "       till --check [--verbose]\n");
}

/* Milliseconds from an arbitrary fixed point; never jumps when the wall clock is set. */
static unsigned long long now_ms(void)
{
#ifdef _WIN32
    return GetTickCount64();
#else
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (unsigned long long)ts.tv_sec * 1000u + (unsigned long long)ts.tv_nsec / 1000000u;
#endif
}

/* One `key=value` line, flushed at once: scripts read the till's output while it runs. */
static void emit(const char *key, const char *value)
{
    printf("%s=%s\n", key, value);
    fflush(stdout);
}

/*
 * Prints the error= line for `code`, with the detail the library kept for this thread: the
 * text of kpos_last_error_message() without its leading "KPOS_E_NAME: " and trailing
 * " (correlation_id ID)" (both printed separately), on one line.
 */
static void report_error(kpos_result code)
{
    const char *message = kpos_last_error_message();
    const char *correlation_id = kpos_last_error_correlation_id();
    const char *name = kpos_result_name(code);
    char text[1024], suffix[200];
    size_t n = strlen(name), len, i;

    if (strncmp(message, name, n) == 0 && message[n] == ':' && message[n + 1] == ' ')
        message += n + 2;
    snprintf(text, sizeof text, "%s", message[0] != '\0' ? message : kpos_result_text(code));
    len = strlen(text);
    if (correlation_id != NULL) {
        snprintf(suffix, sizeof suffix, " (correlation_id %s)", correlation_id);
        if (len >= strlen(suffix) && strcmp(text + len - strlen(suffix), suffix) == 0)
            text[len - strlen(suffix)] = '\0';
    }
    for (i = 0; text[i] != '\0'; i++)
        if ((unsigned char)text[i] < 0x20)
            text[i] = ' '; /* keep the output on one line */
    printf("error=%s %s correlation_id=%s\n", name, text,
           correlation_id != NULL ? correlation_id : "");
    fflush(stdout);
}

/* --verbose: the library's log lines on stderr. Called from any thread of the library. */
static void log_to_stderr(void *userdata, uint32_t level, const char *message)
{
    static const char *const names[] = {"", "error", "warn", "info", "debug", "trace"};
    (void)userdata;
    fprintf(stderr, "klarna-pos %s: %s\n", level <= 5 ? names[level] : "?", message);
}

/* --check: the health check's report on stdout; 0 when every step passed. */
static int run_check(void)
{
    kpos_client *client = NULL;
    char *report = NULL;
    kpos_result rc = kpos_client_new(NULL, &client);

    if (rc != KPOS_OK) {
        report_error(rc);
        return EXIT_LIBRARY_ERROR;
    }
    rc = kpos_client_check(client, &report);
    if (report != NULL) {
        printf("%s\n", report);
        kpos_string_free(report);
    }
    if (rc != KPOS_OK)
        report_error(rc);
    fflush(stdout);
    kpos_client_free(client);
    return rc == KPOS_OK ? EXIT_COMPLETED : EXIT_LIBRARY_ERROR;
}

/* Reads a whole file into a NUL-terminated buffer the caller frees; NULL on failure. */
static char *read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    char *text = NULL;
    size_t len = 0, cap = 0, got;

    if (f == NULL)
        return NULL;
    do {
        if (cap - len < 4096) {
            char *bigger = realloc(text, cap + 65536);
            if (bigger == NULL) {
                free(text);
                fclose(f);
                return NULL;
            }
            text = bigger;
            cap += 65536;
        }
        got = fread(text + len, 1, cap - len - 1, f);
        len += got;
    } while (got > 0);
    if (ferror(f)) {
        free(text);
        text = NULL;
    } else {
        text[len] = '\0';
    }
    fclose(f);
    return text;
}

/* A malloc'd string: the first `len` bytes of `s`, then `middle` and `tail`; NULL if no memory. */
static char *join(const char *s, size_t len, const char *middle, const char *tail)
{
    char *result = malloc(len + strlen(middle) + strlen(tail) + 1);

    if (result == NULL)
        return NULL;
    memcpy(result, s, len);
    strcpy(result + len, middle);
    strcat(result, tail);
    return result;
}

/* Skips JSON white space. */
static const char *skip_space(const char *p)
{
    return p + strspn(p, " \t\r\n");
}

/*
 * Where the short code goes in the order text: just inside an existing "distribution" object
 * (*inside_distribution = 1), or just inside the order's first '{' (0). NULL with a reason in
 * *problem when the order already has a short code or a distribution that is not an object:
 * the till refuses to guess. NULL without a problem when the text is not a JSON object (the
 * library will report it).
 */
static const char *short_code_position(const char *order, int *inside_distribution,
                                       const char **problem)
{
    const char *key = strstr(order, "\"distribution\"");
    const char *first = skip_space(order);

    *problem = NULL;
    *inside_distribution = 0;
    if (strstr(order, "\"short_code\"") != NULL) {
        *problem = "has a short_code already; drop it or --short-code";
        return NULL;
    }
    if (key != NULL) {
        /* The key only counts when a ':' follows it. */
        const char *p = skip_space(key + strlen("\"distribution\""));
        if (*p == ':') {
            p = skip_space(p + 1);
            if (*p != '{') {
                *problem = "has a distribution that is not an object";
                return NULL;
            }
            *inside_distribution = 1;
            return p + 1;
        }
    }
    return *first == '{' ? first + 1 : NULL;
}

/*
 * Returns a copy of the order with distribution.short_code set, for the static-QR flow where
 * the customer reads a code from the store's printed QR. Plain text surgery, which is why the
 * short code must be digits only (the library checks the 2-20 digit rule). NULL with *problem
 * set when the order cannot take a short code; NULL alone when out of memory.
 */
static char *with_short_code(const char *order, const char *digits, const char **problem)
{
    char member[80];
    int inside_distribution;
    const char *at = short_code_position(order, &inside_distribution, problem);
    const char *separator;

    if (at == NULL)
        return *problem != NULL ? NULL : join(order, strlen(order), "", "");
    separator = *skip_space(at) == '}' ? "" : ","; /* no trailing comma in an empty object */
    if (inside_distribution)
        snprintf(member, sizeof member, "\"short_code\":\"%s\"%s", digits, separator);
    else
        snprintf(member, sizeof member, "\"distribution\":{\"short_code\":\"%s\"}%s", digits,
                 separator);
    return join(order, (size_t)(at - order), member, at);
}

static int all_digits(const char *s)
{
    return s[0] != '\0' && strspn(s, "0123456789") == strlen(s);
}

/* Parses a non-negative decimal number of milliseconds that fits in 32 bits. */
static int parse_ms(const char *s, unsigned long *out)
{
    char *end;
    unsigned long v;

    if (!all_digits(s) || strlen(s) > 10)
        return 0;
    v = strtoul(s, &end, 10);
    if (*end != '\0' || v > 0xFFFFFFFFul)
        return 0;
    *out = v;
    return 1;
}

/*
 * For a cashier at a terminal (stderr is a tty, as in the demo): the payment link drawn as a QR
 * code the customer can scan from the screen. stdout keeps only the key=value lines.
 */
static void draw_qr_on_terminal(const char *text)
{
    uint8_t *art = NULL;
    size_t len = 0;
    if (!stderr_is_terminal() || kpos_qr_render(text, KPOS_QR_TEXT, &art, &len) != KPOS_OK)
        return;
    fwrite(art, 1, len, stderr);
    fflush(stderr);
    kpos_bytes_free(art, len);
}

/*
 * Prints whatever became known since the last call: the QR code and payment link once the
 * session is distributed (before its status line, so the cashier's screen can show it), then
 * the status when it changed.
 */
/* The cashier's and the customer's language (--language), or NULL. */
static const char *language = NULL;

static void report_progress(const kpos_session *session, uint32_t status, uint32_t *shown_status,
                            int *qr_shown)
{
    if (!*qr_shown) {
        const char *qr_url = kpos_session_qr_url(session);
        if (qr_url != NULL) {
            const char *link = kpos_session_payment_link(session);
            emit("qr_url", qr_url);
            if (link != NULL)
                emit("payment_link", link);
            draw_qr_on_terminal(link != NULL ? link : qr_url);
            *qr_shown = 1;
        }
    }
    if (status != *shown_status) {
        emit("status", kpos_status_name(status));
        if (language != NULL) {
            emit("display", kpos_status_display_text_for(status, language));
            emit("customer", kpos_status_customer_text_for(status, language));
        } else if (stderr_is_terminal()) {
            fprintf(stderr, "  [cashier display: %s]\n", kpos_status_display_text(status));
        }
        *shown_status = status;
    }
}

/* The exit status for a session that reached a terminal status, printing its outcome. */
static int finish(const kpos_session *session, uint32_t status)
{
    switch (status) {
    case KPOS_STATUS_COMPLETED:
        /* The order is placed: keep the order id for capture, refund or cancel later. */
        {
            const char *order_id = kpos_session_order_id(session);
            emit("order_id", order_id != NULL ? order_id : "");
        }
        return EXIT_COMPLETED;
    case KPOS_STATUS_FAILED:
        /* BAD_REQUEST, PERMISSION_DENIED or UNKNOWN, with the detail in the last error. */
        report_error(kpos_session_failure(session));
        return EXIT_NOT_PAID;
    default: /* CANCELED by the customer, or EXPIRED */
        return EXIT_NOT_PAID;
    }
}

/*
 * Follows the session until it is terminal or the till's own deadline passes. Klarna advises
 * a POS to give up after a time of its choosing and cancel actively, so a customer cannot pay
 * for a sale the till has abandoned.
 */
static int follow(kpos_session *session, unsigned long timeout_ms)
{
    const unsigned long long deadline = now_ms() + timeout_ms;
    uint32_t shown_status = KPOS_STATUS_CREATED; /* CREATED is local, nothing to show */
    int qr_shown = 0;

    for (;;) {
        unsigned long long now = now_ms();
        uint32_t status = KPOS_STATUS_CREATED;
        kpos_result rc;

        if (now >= deadline)
            break;
        /* Blocks until the status changes; polling and back-off happen inside the library. */
        rc = kpos_session_wait(session, (uint32_t)(deadline - now), &status);
        if (rc == KPOS_E_TIMEOUT) {
            report_progress(session, status, &shown_status, &qr_shown);
            break;
        }
        if (rc != KPOS_OK) {
            report_error(rc);
            /* Giving up: make sure the customer can no longer pay this session. A failed
             * cancel goes to stderr only: stdout already reports the error that ended the wait,
             * and a session whose QR code nobody shows expires unpaid. */
            if (kpos_session_cancel(session) != KPOS_OK)
                fprintf(stderr, "cancel failed: %s\n", kpos_last_error_message());
            return EXIT_LIBRARY_ERROR;
        }
        report_progress(session, status, &shown_status, &qr_shown);
        if (kpos_status_is_terminal(status))
            return finish(session, status);
    }

    /* Out of time: cancel. If the customer completed the payment meanwhile, Klarna refuses the
     * cancel with KPOS_E_CONFLICT and the session reports COMPLETED: the sale is paid. */
    {
        kpos_result rc = kpos_session_cancel(session);
        uint32_t status = kpos_session_status(session);
        if (rc != KPOS_OK && rc != KPOS_E_CONFLICT) {
            report_error(rc);
            return EXIT_LIBRARY_ERROR;
        }
        report_progress(session, status, &shown_status, &qr_shown);
        return finish(session, status);
    }
}

int main(int argc, char **argv)
{
    const char *order_path = NULL;
    const char *short_code = NULL;
    unsigned long timeout_ms = DEFAULT_TIMEOUT_MS;
    char *order;
    kpos_client *client = NULL;
    kpos_session *session = NULL;
    kpos_result rc;
    int exit_code;
    int check = 0;
    int i;

    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--timeout-ms") == 0 && i + 1 < argc) {
            if (!parse_ms(argv[++i], &timeout_ms)) {
                fprintf(stderr, "till: --timeout-ms needs a number of milliseconds\n");
                return EXIT_USAGE;
            }
        } else if (strcmp(argv[i], "--short-code") == 0 && i + 1 < argc) {
            short_code = argv[++i];
            if (!all_digits(short_code) || strlen(short_code) > 32) {
                fprintf(stderr, "till: --short-code needs the digits the customer read out\n");
                return EXIT_USAGE;
            }
        } else if (strcmp(argv[i], "--language") == 0 && i + 1 < argc) {
            language = argv[++i];
        } else if (strcmp(argv[i], "--check") == 0) {
            check = 1;
        } else if (strcmp(argv[i], "--verbose") == 0) {
            if (kpos_set_log_callback(log_to_stderr, NULL, KPOS_LOG_DEBUG) != KPOS_OK)
                return EXIT_LIBRARY_ERROR;
        } else if (argv[i][0] == '-' || order_path != NULL) {
            usage();
            return EXIT_USAGE;
        } else {
            order_path = argv[i];
        }
    }
    if (check) {
        if (order_path != NULL) {
            usage();
            return EXIT_USAGE;
        }
        return run_check();
    }
    if (order_path == NULL) {
        usage();
        return EXIT_USAGE;
    }

    order = read_file(order_path);
    if (order == NULL) {
        fprintf(stderr, "till: cannot read %s\n", order_path);
        return EXIT_USAGE;
    }
    if (short_code != NULL) {
        const char *problem;
        char *changed = with_short_code(order, short_code, &problem);
        free(order);
        if (changed == NULL) {
            fprintf(stderr, "till: %s %s\n", order_path, problem ? problem : "(out of memory)");
            return problem ? EXIT_USAGE : EXIT_LIBRARY_ERROR;
        }
        order = changed;
    }

    /* NULL configuration: endpoint and credentials come from KLARNA_API_URL, KLARNA_USERNAME,
     * KLARNA_PASSWORD. A real till creates one client at start-up and shares it. */
    rc = kpos_client_new(NULL, &client);
    if (rc != KPOS_OK) {
        report_error(rc);
        free(order);
        return EXIT_LIBRARY_ERROR;
    }

    /* The order is validated locally first: nothing is sent when a field is wrong, and the
     * error names the field (e.g. order_lines[1].total_tax_amount). */
    rc = kpos_session_create(client, order, &session);
    free(order);
    if (rc != KPOS_OK) {
        report_error(rc);
        kpos_client_free(client);
        return EXIT_LIBRARY_ERROR;
    }
    /* Keep the id (and kpos_session_result_url) so that a restarted till can resume. */
    emit("session_id", kpos_session_id(session));

    exit_code = follow(session, timeout_ms);

    kpos_session_free(session);
    kpos_client_free(client);
    return exit_code;
}
