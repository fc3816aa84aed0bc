/*
 * corpus: the bad-input corpus against every entry point that takes data. Each case must get
 * its documented result code and a non-empty message, never a crash, a write through a bad
 * pointer, or (under the sanitizers and valgrind) a memory error or leak.
 *
 * Inputs come from tests/data/corpus/ (see its README.md); NULL in every pointer position,
 * freed, foreign and never-issued handles, double frees and unknown enum numbers are generated
 * here from the ENTRIES table: a new function is one entry there.
 */

#define _POSIX_C_SOURCE 200809L

#include <stdint.h>

#include <dirent.h>
#include <unistd.h>

#include "harness.h"
#include "sim_control.h"

static int cases_run = 0;
static int cases_skipped = 0;

/*
 * KPOS_CORPUS_MAX_BYTES, when set, skips the cases whose input is larger (counted and
 * reported): valgrind runs the multi-megabyte inputs through the debug library for minutes,
 * and AddressSanitizer already runs them.
 */
static int skipped_as_too_big(const char *a, const char *b)
{
    const char *limit = getenv("KPOS_CORPUS_MAX_BYTES");
    size_t max;
    if (limit == NULL)
        return 0;
    max = strtoul(limit, NULL, 10);
    if ((a != NULL && strlen(a) > max) || (b != NULL && strlen(b) > max)) {
        cases_skipped++;
        return 1;
    }
    return 0;
}

/* ---- reading the data files ------------------------------------------------------------ */

/* Appends `n` bytes to a growing buffer. */
struct buf {
    char *data;
    size_t len, cap;
};

static void buf_add(struct buf *b, const char *p, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        while (cap < b->len + n + 1)
            cap *= 2;
        b->data = realloc(b->data, cap);
        if (b->data == NULL)
            exit(1);
        b->cap = cap;
    }
    memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
}

static void buf_repeat(struct buf *b, const char *p, size_t n)
{
    size_t i, len = strlen(p);
    for (i = 0; i < n; i++)
        buf_add(b, p, len);
}

/*
 * Decodes the C escapes \xNN \n \r \t \\ of the data files into a NUL-terminated buffer
 * (\x00 included: the length says where it ends); the caller frees.
 */
static struct buf unescape_buf(const char *s)
{
    struct buf b = {NULL, 0, 0};
    buf_add(&b, "", 0);
    while (*s) {
        char c = *s++;
        if (c == '\\' && *s) {
            char e = *s++;
            if (e == 'x' && s[0] && s[1]) {
                char hex[3] = {s[0], s[1], '\0'};
                c = (char)strtol(hex, NULL, 16);
                s += 2;
            } else if (e == 'n') {
                c = '\n';
            } else if (e == 'r') {
                c = '\r';
            } else if (e == 't') {
                c = '\t';
            } else {
                c = e;
            }
        }
        buf_add(&b, &c, 1);
    }
    return b;
}

static char *unescape(const char *s)
{
    return unescape_buf(s).data;
}

/* Replaces every ${URL} with the simulator's URL; the caller frees. */
static char *with_url(const char *s)
{
    const char *url = getenv("KLARNA_API_URL");
    struct buf b = {NULL, 0, 0};
    const char *at;
    buf_add(&b, "", 0);
    while ((at = strstr(s, "${URL}")) != NULL) {
        buf_add(&b, s, (size_t)(at - s));
        buf_add(&b, url, strlen(url));
        s = at + 6;
    }
    buf_add(&b, s, strlen(s));
    return b.data;
}

/* Splits `s` at '|' into at most `max` parts (in place); returns the number of parts. */
static int split_bar(char *s, char **parts, int max)
{
    int n = 0;
    parts[n++] = s;
    while (n < max && (s = strchr(s, '|')) != NULL) {
        *s++ = '\0';
        parts[n++] = s;
    }
    return n;
}

/* An order of `lines` lines of 1.00 SEK at 0 % tax, otherwise valid. */
static char *order_with_lines(size_t lines)
{
    struct buf b = {NULL, 0, 0};
    char head[160];
    size_t i;
    snprintf(head, sizeof head,
             "{\"purchase_country\":\"SE\",\"purchase_currency\":\"SEK\",\"order_amount\":%zu,"
             "\"order_tax_amount\":0,\"order_lines\":[",
             lines * 100);
    buf_add(&b, head, strlen(head));
    for (i = 0; i < lines; i++) {
        const char *line = "{\"name\":\"x\",\"quantity\":1,\"unit_price\":100,\"tax_rate\":0,"
                           "\"total_amount\":100,\"total_tax_amount\":0}";
        if (i > 0)
            buf_add(&b, ",", 1);
        buf_add(&b, line, strlen(line));
    }
    buf_add(&b, "]}", 2);
    return b.data;
}

/*
 * A data file's text field: escapes decoded, ${URL} replaced, generators run. Its length in
 * bytes goes to `*len` (unless NULL): a decoded \x00 is part of it.
 */
static char *materialize_n(const char *field, size_t *len)
{
    char *text = with_url(field);
    char *parts[6];
    struct buf b = {NULL, 0, 0};
    char *p0, *p1, *p3, *p4, *p5;

    if (text[0] != '@') {
        struct buf plain = unescape_buf(text);
        free(text);
        if (len != NULL)
            *len = plain.len;
        return plain.data;
    }
    buf_add(&b, "", 0);
    if (strncmp(text, "@repeat ", 8) == 0 && split_bar(text + 8, parts, 4) == 4) {
        p0 = unescape(parts[0]), p1 = unescape(parts[1]), p3 = unescape(parts[3]);
        buf_add(&b, p0, strlen(p0));
        buf_repeat(&b, p1, strtoul(parts[2], NULL, 10));
        buf_add(&b, p3, strlen(p3));
        free(p0), free(p1), free(p3);
    } else if (strncmp(text, "@nest ", 6) == 0 && split_bar(text + 6, parts, 6) == 6) {
        size_t n = strtoul(parts[2], NULL, 10);
        p0 = unescape(parts[0]), p1 = unescape(parts[1]), p3 = unescape(parts[3]);
        p4 = unescape(parts[4]), p5 = unescape(parts[5]);
        buf_add(&b, p0, strlen(p0));
        buf_repeat(&b, p1, n);
        buf_add(&b, p3, strlen(p3));
        buf_repeat(&b, p4, n);
        buf_add(&b, p5, strlen(p5));
        free(p0), free(p1), free(p3), free(p4), free(p5);
    } else if (strncmp(text, "@lines ", 7) == 0) {
        free(b.data);
        b.data = order_with_lines(strtoul(text + 7, NULL, 10));
    } else {
        printf("not ok - unknown generator %s\n", text);
        exit(1);
    }
    free(text);
    if (len != NULL)
        *len = strlen(b.data);
    return b.data;
}

static char *materialize(const char *field)
{
    return materialize_n(field, NULL);
}

/* Calls `each(fields, n, context)` for every case line of tests/data/corpus/<name>. */
static void for_each_line(const char *name, int want_fields,
                          void (*each)(char **fields, void *context), void *context)
{
    char path[256], line[8192];
    FILE *f;
    snprintf(path, sizeof path, "tests/data/corpus/%s", name);
    f = fopen(path, "r");
    if (f == NULL) {
        printf("not ok - %s can be read\n", path);
        exit(1);
    }
    while (fgets(line, sizeof line, f) != NULL) {
        char *fields[8];
        int n = 0;
        char *p = line;
        size_t len = strlen(line);
        if (len > 0 && line[len - 1] == '\n')
            line[--len] = '\0';
        else if (!feof(f)) {
            printf("not ok - a line of %s is longer than %zu bytes\n", path, sizeof line);
            exit(1);
        }
        if (line[0] == '#' || line[0] == '\0')
            continue;
        fields[n++] = p;
        while (n < 8 && (p = strchr(p, '\t')) != NULL) {
            *p++ = '\0';
            fields[n++] = p;
        }
        if (n != want_fields) {
            printf("not ok - %s: a line has %d fields, not %d: %s\n", path, n, want_fields,
                   fields[0]);
            harness_failures++;
            continue;
        }
        each(fields, context);
    }
    fclose(f);
}

/* ---- checking one case ----------------------------------------------------------------- */

static kpos_result code_named(const char *name)
{
    kpos_result c;
    for (c = 0; c < 100; c++)
        if (strcmp(kpos_result_name(c), name) == 0)
            return c;
    printf("not ok - unknown code name %s in the corpus\n", name);
    exit(1);
}

/* The case's code, a non-empty message, and (unless "-") the named field. */
static void expect(kpos_result got, kpos_result want, const char *field, const char *entry,
                   const char *name)
{
    char label[512];
    int passed = got == want;
    const char *message = kpos_last_error_message();

    cases_run++;
    snprintf(label, sizeof label, "%s: %s", entry, name);
    if (!passed) {
        printf("# %s: got %s, want %s; last error: %s\n", label, kpos_result_name(got),
               kpos_result_name(want), message);
    } else if (want != KPOS_OK && (message == NULL || message[0] == '\0')) {
        printf("# %s: empty message\n", label);
        passed = 0;
    } else if (want != KPOS_OK && (int)kpos_last_error_code() != (int)want) {
        printf("# %s: the last error code is %u\n", label, kpos_last_error_code());
        passed = 0;
    } else if (field != NULL && strcmp(field, "-") != 0) {
        const char *named = kpos_last_error_field();
        if (named == NULL || strcmp(named, field) != 0) {
            printf("# %s: field %s not named (kpos_last_error_field: %s)\n", label, field,
                   named == NULL ? "NULL" : named);
            passed = 0;
        }
    }
    check_at(passed, label, __FILE__, __LINE__);
}

/* ---- the entry points ------------------------------------------------------------------ */

/*
 * Argument kinds: 'C' client handle, 'J' client handle with a journal, 'S' session handle,
 * 'j' JSON text, 'i' identifier text, 'd' order id text, 'b' / 'r' capture / refund body JSON,
 * 'k' idempotency key text (NULL means "generate one"), 'u' URL text, 'o' out-pointer for a
 * handle, 'x' out-pointer for a string, 'z' out-pointer for a string that may be NULL, 'p' / 'l'
 * out-pointers for bytes and their length, 's' out-pointer for a status, 'n' JSON text for
 * which NULL means "read the environment", 'w' a wait timeout or a format (not a pointer), 'q'
 * / 'y' a webhook's request and body (untrusted network input: not refused for bad text), 'f' /
 * 't' a report's RFC 3339 lower and upper bound, 'm' a merchant reference, 'g' a language tag
 * (NULL means English).
 */
typedef kpos_result (*call_fn)(void *a[6]);

struct entry {
    const char *name;
    const char *kinds;
    call_fn call;
};

static kpos_result call_client_new(void *a[6])
{
    return kpos_client_new((const char *)a[0], (kpos_client **)a[1]);
}
static kpos_result call_session_create(void *a[6])
{
    return kpos_session_create((kpos_client *)a[0], (const char *)a[1], (kpos_session **)a[2]);
}
static kpos_result call_session_resume(void *a[6])
{
    return kpos_session_resume((kpos_client *)a[0], (const char *)a[1], (const char *)a[2],
                               (kpos_session **)a[3]);
}
static kpos_result call_session_poll(void *a[6])
{
    return kpos_session_poll((kpos_session *)a[0], (uint32_t *)a[1]);
}
static kpos_result call_session_wait(void *a[6])
{
    return kpos_session_wait((kpos_session *)a[0], 10, (uint32_t *)a[2]);
}
static kpos_result call_session_cancel(void *a[6])
{
    return kpos_session_cancel((kpos_session *)a[0]);
}
static kpos_result call_session_failure(void *a[6])
{
    return kpos_session_failure((const kpos_session *)a[0]);
}

static kpos_result call_journal_pending(void *a[6])
{
    return kpos_journal_pending((kpos_client *)a[0], (char **)a[1]);
}
static kpos_result call_history_report(void *a[6])
{
    return kpos_history_report((kpos_client *)a[0], (const char *)a[1], (const char *)a[2],
                               (char **)a[3]);
}
static kpos_result call_history_find(void *a[6])
{
    return kpos_history_find((kpos_client *)a[0], (const char *)a[1], (char **)a[2]);
}
static kpos_result call_session_receipt_text(void *a[6])
{
    return kpos_session_receipt_text((const kpos_session *)a[0], (const char *)a[1],
                                     (char **)a[2]);
}
static kpos_result call_client_check(void *a[6])
{
    return kpos_client_check((kpos_client *)a[0], (char **)a[1]);
}
static kpos_result call_order_get(void *a[6])
{
    return kpos_order_get((kpos_client *)a[0], (const char *)a[1], (char **)a[2]);
}
static kpos_result call_order_capture(void *a[6])
{
    return kpos_order_capture((kpos_client *)a[0], (const char *)a[1], (const char *)a[2],
                              (const char *)a[3], (char **)a[4]);
}
static kpos_result call_order_refund(void *a[6])
{
    return kpos_order_refund((kpos_client *)a[0], (const char *)a[1], (const char *)a[2],
                             (const char *)a[3], (char **)a[4]);
}
static kpos_result call_order_cancel(void *a[6])
{
    return kpos_order_cancel((kpos_client *)a[0], (const char *)a[1], (const char *)a[2]);
}
static kpos_result call_order_release(void *a[6])
{
    return kpos_order_release_remaining_authorization((kpos_client *)a[0], (const char *)a[1],
                                                      (const char *)a[2]);
}
static kpos_result call_qr_render(void *a[6])
{
    return kpos_qr_render((const char *)a[0], KPOS_QR_SVG, (uint8_t **)a[2], (size_t *)a[3]);
}
/* The request target and body are passed with their lengths (0 for NULL). */
static kpos_result call_webhook_verify(void *a[6])
{
    const char *target = a[1], *body = a[2];
    return kpos_webhook_verify((kpos_client *)a[0], (const uint8_t *)target,
                               target == NULL ? 0 : strlen(target), (const uint8_t *)body,
                               body == NULL ? 0 : strlen(body), (char **)a[3],
                               (uint32_t *)a[4]);
}

static const struct entry ENTRIES[] = {
    {"kpos_client_new", "no", call_client_new},
    {"kpos_session_create", "Cjo", call_session_create},
    {"kpos_session_resume", "Ciuo", call_session_resume},
    {"kpos_session_poll", "Ss", call_session_poll},
    {"kpos_session_wait", "Sws", call_session_wait},
    {"kpos_session_cancel", "S", call_session_cancel},
    {"kpos_session_failure", "S", call_session_failure},
    {"kpos_journal_pending", "Jx", call_journal_pending},
    {"kpos_history_report", "Jftx", call_history_report},
    {"kpos_history_find", "Jmx", call_history_find},
    {"kpos_session_receipt_text", "Sgx", call_session_receipt_text},
    {"kpos_client_check", "Cx", call_client_check},
    {"kpos_order_get", "Cdx", call_order_get},
    {"kpos_order_capture", "Cdbkx", call_order_capture},
    {"kpos_order_refund", "Cdrkx", call_order_refund},
    {"kpos_order_cancel", "Cdk", call_order_cancel},
    {"kpos_order_release_remaining_authorization", "Cdk", call_order_release},
    {"kpos_qr_render", "iwpl", call_qr_render},
    {"kpos_webhook_verify", "Cqyzs", call_webhook_verify},
};
#define N_ENTRIES (sizeof ENTRIES / sizeof ENTRIES[0])

/* Infallible getters of a session: a bad handle gives their neutral answer. */
struct getter {
    const char *name;
    const char *(*get)(const kpos_session *);
};
static const struct getter GETTERS[] = {
    {"kpos_session_id", kpos_session_id},
    {"kpos_session_result_url", kpos_session_result_url},
    {"kpos_session_qr_url", kpos_session_qr_url},
    {"kpos_session_payment_link", kpos_session_payment_link},
    {"kpos_session_order_id", kpos_session_order_id},
};
#define N_GETTERS (sizeof GETTERS / sizeof GETTERS[0])

/* What the valid arguments of a call are made of. */
struct world {
    kpos_client *client;
    kpos_session *session;
    kpos_client *journal_client;
    kpos_client *freed_client;
    kpos_session *freed_session;
    char config[1024];
    char result_url[1024];
};

static kpos_client *out_client;
static kpos_session *out_session;
static uint32_t out_status;
static char *out_string;
static uint8_t *out_bytes;
static size_t out_len;

/* An order id the simulator does not know: valid-looking calls get KPOS_E_NOT_FOUND. */
#define UNKNOWN_ORDER "corpus-no-such-order"
#define VALID_CAPTURE "{\"captured_amount\":100,\"description\":\"corpus\"}"
#define VALID_REFUND "{\"refunded_amount\":100,\"description\":\"corpus\"}"

/* Fills valid arguments for `kinds`. */
static void valid_args(const struct world *w, const char *kinds, void *a[6])
{
    int i;
    for (i = 0; kinds[i]; i++) {
        switch (kinds[i]) {
        case 'C': a[i] = w->client; break;
        case 'J': a[i] = w->journal_client; break;
        case 'd': a[i] = (void *)UNKNOWN_ORDER; break;
        case 'b': a[i] = (void *)VALID_CAPTURE; break;
        case 'r': a[i] = (void *)VALID_REFUND; break;
        case 'k': a[i] = (void *)"corpus-key-1"; break;
        case 'q': a[i] = (void *)"/hook?kpos_ref=00&kpos_token=00"; break;
        case 'y': a[i] = (void *)"{}"; break;
        case 'f': a[i] = (void *)"2026-11-30T00:00:00+01:00"; break;
        case 't': a[i] = (void *)"2026-12-01T00:00:00+01:00"; break;
        case 'm': a[i] = (void *)"corpus-sale-1"; break;
        case 'g': a[i] = (void *)"sv-SE"; break;
        case 'x':
        case 'z': a[i] = &out_string; break;
        case 'p': a[i] = &out_bytes; break;
        case 'l': a[i] = &out_len; break;
        case 'S': a[i] = w->session; break;
        case 'j': a[i] = (void *)VALID_ORDER; break;
        case 'n': a[i] = (void *)w->config; break;
        case 'i': a[i] = (void *)"session-id"; break;
        case 'u': a[i] = (void *)w->result_url; break;
        case 'o':
            a[i] = kinds[0] == 'n' ? (void *)&out_client : (void *)&out_session;
            break;
        case 's': a[i] = &out_status; break;
        default: a[i] = NULL; break;
        }
    }
}

/* Frees whatever a call that unexpectedly succeeded created. */
static void release_outputs(void)
{
    kpos_client_free(out_client);
    kpos_session_free(out_session);
    kpos_string_free(out_string);
    kpos_bytes_free(out_bytes, out_len);
    out_client = NULL;
    out_session = NULL;
    out_string = NULL;
    out_bytes = NULL;
    out_len = 0;
}

static void null_in_every_pointer_position(const struct world *w)
{
    size_t e;
    int i;
    char name[128];
    for (e = 0; e < N_ENTRIES; e++) {
        const struct entry *en = &ENTRIES[e];
        for (i = 0; en->kinds[i]; i++) {
            void *a[6] = {NULL, NULL, NULL, NULL, NULL, NULL};
            if (en->kinds[i] == 'n' || en->kinds[i] == 'w' || en->kinds[i] == 'k' ||
                en->kinds[i] == 'z' || en->kinds[i] == 'g')
                continue;
            valid_args(w, en->kinds, a);
            a[i] = NULL;
            snprintf(name, sizeof name, "NULL as argument %d", i + 1);
            expect(en->call(a), KPOS_E_INVALID_ARGUMENT, "-", en->name, name);
            release_outputs();
        }
    }
}

static void bad_handles(const struct world *w)
{
    size_t e, g;
    int i, v;
    char name[160];
    for (e = 0; e < N_ENTRIES; e++) {
        const struct entry *en = &ENTRIES[e];
        for (i = 0; en->kinds[i]; i++) {
            char kind = en->kinds[i];
            void *bad[4];
            const char *what[4] = {"a freed handle (use after free)",
                                   "a handle of the other kind", "a number never issued",
                                   "an address that is not a handle"};
            int is_client = kind == 'C' || kind == 'J';
            if (!is_client && kind != 'S')
                continue;
            bad[0] = is_client ? (void *)w->freed_client : (void *)w->freed_session;
            bad[1] = is_client ? (void *)w->session : (void *)w->client;
            bad[2] = (void *)(uintptr_t)0x10;
            bad[3] = (void *)&out_status;
            for (v = 0; v < 4; v++) {
                void *a[6] = {NULL, NULL, NULL, NULL, NULL, NULL};
                valid_args(w, en->kinds, a);
                a[i] = bad[v];
                snprintf(name, sizeof name, "%s as argument %d", what[v], i + 1);
                expect(en->call(a), KPOS_E_INVALID_ARGUMENT, "-", en->name, name);
                release_outputs();
            }
        }
    }
    for (g = 0; g < N_GETTERS; g++) {
        const kpos_session *bad[4] = {NULL, w->freed_session, (const kpos_session *)w->client,
                                      (const kpos_session *)(uintptr_t)0x10};
        for (v = 0; v < 4; v++) {
            snprintf(name, sizeof name, "%s of a NULL/freed/foreign/never-issued handle (%d)",
                     GETTERS[g].name, v);
            cases_run++;
            CHECK(GETTERS[g].get(bad[v]) == NULL, name);
        }
    }
    for (v = 0; v < 4; v++) {
        const kpos_session *bad[4] = {NULL, w->freed_session, (const kpos_session *)w->client,
                                      (const kpos_session *)(uintptr_t)0x10};
        snprintf(name, sizeof name, "kpos_session_status of a bad handle (%d) is UNKNOWN", v);
        cases_run++;
        CHECK(kpos_session_status(bad[v]) == KPOS_STATUS_UNKNOWN, name);
    }
}

/* ---- text classes ---------------------------------------------------------------------- */

struct text_context {
    const struct world *w;
};

static void text_case(char **f, void *context)
{
    const struct world *w = ((struct text_context *)context)->w;
    const char *class = f[0];
    char *text = materialize(f[2]);
    size_t e;
    int i;
    if (skipped_as_too_big(text, NULL)) {
        free(text);
        return;
    }
    for (e = 0; e < N_ENTRIES; e++) {
        const struct entry *en = &ENTRIES[e];
        for (i = 0; en->kinds[i]; i++) {
            char kind = en->kinds[i];
            int is_json = kind == 'j' || kind == 'n' || kind == 'b' || kind == 'r';
            int is_text = is_json || kind == 'i' || kind == 'u' || kind == 'd' || kind == 'k' ||
                          kind == 'f' || kind == 't' || kind == 'm' || kind == 'g';
            void *a[6] = {NULL, NULL, NULL, NULL, NULL, NULL};
            char name[300];
            if (!is_text || (strcmp(class, "json") == 0 && !is_json))
                continue;
            valid_args(w, en->kinds, a);
            a[i] = text;
            snprintf(name, sizeof name, "%s as argument %d", f[1], i + 1);
            expect(en->call(a), KPOS_E_INVALID_ARGUMENT, "-", en->name, name);
            release_outputs();
        }
    }
    free(text);
}

static void order_case(char **f, void *context)
{
    const struct world *w = context;
    char *order = materialize(f[3]);
    kpos_session *session = NULL;
    if (skipped_as_too_big(order, NULL)) {
        free(order);
        return;
    }
    expect(kpos_session_create(w->client, order, &session), code_named(f[0]), f[1],
           "kpos_session_create", f[2]);
    kpos_session_free(session);
    free(order);
}

static void config_case(char **f, void *context)
{
    char *config = materialize(f[3]);
    kpos_client *client = NULL;
    (void)context;
    if (skipped_as_too_big(config, NULL)) {
        free(config);
        return;
    }
    expect(kpos_client_new(config, &client), code_named(f[0]), f[1], "kpos_client_new", f[2]);
    kpos_client_free(client);
    free(config);
}

static void resume_case(char **f, void *context)
{
    const struct world *w = context;
    char *id = materialize(f[2]);
    char *url = materialize(f[3]);
    kpos_session *session = NULL;
    if (skipped_as_too_big(id, url)) {
        free(id);
        free(url);
        return;
    }
    expect(kpos_session_resume(w->client, id, url, &session), code_named(f[0]), "-",
           "kpos_session_resume", f[1]);
    kpos_session_free(session);
    free(id);
    free(url);
}

/* Replaces every `key` in `s` with `value`; the caller frees. */
static char *replaced(const char *s, const char *key, const char *value)
{
    struct buf b = {NULL, 0, 0};
    const char *at;
    buf_add(&b, "", 0);
    while ((at = strstr(s, key)) != NULL) {
        buf_add(&b, s, (size_t)(at - s));
        buf_add(&b, value, strlen(value));
        s = at + strlen(key);
    }
    buf_add(&b, s, strlen(s));
    return b.data;
}

/* A capture or refund body: run against both, with ${AMOUNT} naming the amount field. */
static void om_body_case(char **f, void *context)
{
    const struct world *w = context;
    static const char *const amounts[2] = {"captured_amount", "refunded_amount"};
    int k;
    for (k = 0; k < 2; k++) {
        char *with_amount = replaced(f[3], "${AMOUNT}", amounts[k]);
        char *field = replaced(f[1], "${AMOUNT}", amounts[k]);
        char *body = materialize(with_amount);
        char *id = NULL;
        free(with_amount);
        if (skipped_as_too_big(body, NULL)) {
            free(body);
            free(field);
            continue;
        }
        if (k == 0)
            expect(kpos_order_capture(w->client, UNKNOWN_ORDER, body, NULL, &id),
                   code_named(f[0]), field, "kpos_order_capture", f[2]);
        else
            expect(kpos_order_refund(w->client, UNKNOWN_ORDER, body, NULL, &id),
                   code_named(f[0]), field, "kpos_order_refund", f[2]);
        kpos_string_free(id);
        free(body);
        free(field);
    }
}

/* An order id and an idempotency key ("-": NULL, the library makes one). */
/* history.txt: a bad report bound or merchant reference is refused naming its argument. */
static void history_case(char **f, void *context)
{
    const struct world *w = context;
    char *text = materialize(f[2]);
    char *out = NULL;
    if (skipped_as_too_big(text, NULL)) {
        free(text);
        return;
    }
    if (strcmp(f[0], "from") == 0)
        expect(kpos_history_report(w->journal_client, text, "2100-01-01T00:00:00Z", &out),
               KPOS_E_INVALID_ARGUMENT, "from", "kpos_history_report", f[1]);
    else if (strcmp(f[0], "to") == 0)
        expect(kpos_history_report(w->journal_client, "2026-11-30T00:00:00Z", text, &out),
               KPOS_E_INVALID_ARGUMENT, "to", "kpos_history_report", f[1]);
    else
        expect(kpos_history_find(w->journal_client, text, &out), KPOS_E_INVALID_ARGUMENT,
               "merchant_reference", "kpos_history_find", f[1]);
    kpos_string_free(out);
    free(text);
}

static void om_id_case(char **f, void *context)
{
    const struct world *w = context;
    char *order_id = materialize(f[2]);
    char *key = strcmp(f[3], "-") == 0 ? NULL : materialize(f[3]);
    kpos_result want = code_named(f[0]);
    char *id = NULL;
    if (skipped_as_too_big(order_id, key)) {
        free(order_id);
        free(key);
        return;
    }
    expect(kpos_order_capture(w->client, order_id, VALID_CAPTURE, key, &id), want, "-",
           "kpos_order_capture", f[1]);
    kpos_string_free(id);
    id = NULL;
    expect(kpos_order_refund(w->client, order_id, VALID_REFUND, key, &id), want, "-",
           "kpos_order_refund", f[1]);
    kpos_string_free(id);
    id = NULL;
    expect(kpos_order_cancel(w->client, order_id, key), want, "-", "kpos_order_cancel", f[1]);
    expect(kpos_order_release_remaining_authorization(w->client, order_id, key), want, "-",
           "kpos_order_release_remaining_authorization", f[1]);
    if (key == NULL) {
        expect(kpos_order_get(w->client, order_id, &id), want, "-", "kpos_order_get", f[1]);
        kpos_string_free(id);
    }
    free(order_id);
    free(key);
}

/* The reference and token of a live session of a client with webhook_url. */
struct hook {
    kpos_client *client;
    kpos_session *session;
    char ref[64];
    char token[64];
};

/* Copies the characters after `name` in `text` up to the next '&', '"' or '\\'. */
static int query_value(const char *text, const char *name, char *out, size_t size)
{
    const char *at = strstr(text, name);
    size_t n = 0;
    if (at == NULL)
        return 0;
    at += strlen(name);
    while (at[n] && at[n] != '&' && at[n] != '"' && at[n] != '\\' && n + 1 < size)
        n++;
    memcpy(out, at, n);
    out[n] = '\0';
    return n > 0;
}

static void webhook_case(char **f, void *context)
{
    const struct hook *h = context;
    char *r1 = replaced(f[2], "${REF}", h->ref);
    char *r2 = replaced(r1, "${TOKEN}", h->token);
    size_t request_len, body_len;
    char *request = materialize_n(r2, &request_len);
    char *body = materialize_n(f[3], &body_len);
    char *session_id = NULL;
    uint32_t status = 1234;
    free(r1);
    free(r2);
    if (!skipped_as_too_big(request, body)) {
        kpos_result want = code_named(f[0]);
        expect(kpos_webhook_verify(h->client, (const uint8_t *)request, request_len,
                                   (const uint8_t *)body, body_len, &session_id, &status),
               want, "-", "kpos_webhook_verify", f[1]);
        if (want != KPOS_OK) {
            cases_run++;
            CHECK(session_id == NULL && status == 1234, "a refused webhook writes no output");
        }
        kpos_string_free(session_id);
    }
    free(request);
    free(body);
}

/*
 * Lengths no buffer can have, and NULL with a length: refused as KPOS_E_INVALID_ARGUMENT before
 * a byte is read (the pointers below point at 3 bytes only).
 */
static void webhook_bad_lengths(const struct hook *h)
{
    static const uint8_t three[] = {'a', 'b', 'c'};
    const size_t huge[] = {(size_t)PTRDIFF_MAX + 1, SIZE_MAX};
    char *session_id = NULL;
    uint32_t status = 1234;
    size_t i;
    for (i = 0; i < sizeof huge / sizeof huge[0]; i++) {
        expect(kpos_webhook_verify(h->client, three, huge[i], three, 3, &session_id, &status),
               KPOS_E_INVALID_ARGUMENT, "-", "kpos_webhook_verify", "target_len above PTRDIFF_MAX");
        expect(kpos_webhook_verify(h->client, three, 3, three, huge[i], &session_id, &status),
               KPOS_E_INVALID_ARGUMENT, "-", "kpos_webhook_verify", "body_len above PTRDIFF_MAX");
    }
    expect(kpos_webhook_verify(h->client, NULL, 3, three, 3, &session_id, &status),
           KPOS_E_INVALID_ARGUMENT, "-", "kpos_webhook_verify", "NULL target with a length");
    expect(kpos_webhook_verify(h->client, three, 3, NULL, 3, &session_id, &status),
           KPOS_E_INVALID_ARGUMENT, "-", "kpos_webhook_verify", "NULL body with a length");
    expect(kpos_webhook_verify(h->client, three, 0, three, 0, &session_id, &status),
           KPOS_E_PERMISSION_DENIED, "-", "kpos_webhook_verify", "zero lengths: empty input");
    cases_run++;
    CHECK(session_id == NULL && status == 1234, "a refused length writes no output");
}

static void webhooks(void)
{
    struct hook h;
    char config[1024], record[65536];
    snprintf(config, sizeof config,
             "{\"api_url\":\"%s\",\"username\":\"%s\",\"password\":\"%s\","
             "\"webhook_url\":\"http://127.0.0.1:9/hook\",\"request_timeout_ms\":2000}",
             getenv("KLARNA_API_URL"), getenv("KLARNA_USERNAME"), getenv("KLARNA_PASSWORD"));
    memset(&h, 0, sizeof h);
    CHECK_CODE(kpos_client_new(config, &h.client), KPOS_OK, "a client with webhook_url");
    h.session = test_session(h.client);
    CHECK(sim_session(kpos_session_id(h.session), record, sizeof record) == 200 &&
              query_value(record, "kpos_ref=", h.ref, sizeof h.ref) &&
              query_value(record, "kpos_token=", h.token, sizeof h.token),
          "the simulator recorded the session's callback URL");
    for_each_line("webhooks.txt", 4, webhook_case, &h);
    webhook_bad_lengths(&h);
    cases_run++;
    CHECK(kpos_session_status(h.session) != KPOS_STATUS_COMPLETED &&
              kpos_session_status(h.session) != KPOS_STATUS_FAILED,
          "no refused webhook moved the session");
    kpos_session_free(h.session);
    kpos_client_free(h.client);
}

/* ---- local-only functions -------------------------------------------------------------- */

static void qr_cases(void)
{
    static const uint32_t formats[] = {0, 7, 8, 99, 0x80000000u, 0xFFFFFFFFu};
    struct buf long_text = {NULL, 0, 0};
    uint8_t *bytes = NULL;
    size_t len = 0;
    char name[128];
    size_t i;

    for (i = 0; i < sizeof formats / sizeof formats[0]; i++) {
        snprintf(name, sizeof name, "format %u", formats[i]);
        expect(kpos_qr_render("https://pay.example/x", formats[i], &bytes, &len),
               KPOS_E_INVALID_ARGUMENT, "-", "kpos_qr_render", name);
        cases_run++;
        CHECK(bytes == NULL, "an unknown format writes no bytes");
    }
    expect(kpos_qr_render("", KPOS_QR_TEXT, &bytes, &len), KPOS_E_BAD_REQUEST, "-",
           "kpos_qr_render", "empty text");
    buf_repeat(&long_text, "a", 2332);
    expect(kpos_qr_render(long_text.data, KPOS_QR_PNG, &bytes, &len), KPOS_E_BAD_REQUEST, "-",
           "kpos_qr_render", "2332 bytes (one above the largest QR code)");
    buf_repeat(&long_text, "a", 10485760 - 2332);
    if (!skipped_as_too_big(long_text.data, NULL))
        expect(kpos_qr_render(long_text.data, KPOS_QR_SVG, &bytes, &len), KPOS_E_BAD_REQUEST,
               "-", "kpos_qr_render", "10 MB of text");
    free(long_text.data);
    cases_run++;
    CHECK(bytes == NULL, "refused renders write no bytes");
    CHECK_CODE(kpos_qr_render("\x01\x1b[2J\x7f", KPOS_QR_ESCPOS, &bytes, &len), KPOS_OK,
               "control characters are drawn like any byte");
    kpos_bytes_free(bytes, len);
    cases_run++;
}

static void bytes_frees(void)
{
    uint8_t *bytes = NULL;
    size_t len = 0;
    uint8_t on_stack[16] = {0};
    uint8_t *on_heap = malloc(16);

    kpos_bytes_free(NULL, 0);
    kpos_bytes_free(NULL, 100);
    cases_run++;
    CHECK(1, "kpos_bytes_free(NULL) is harmless");
    CHECK_CODE(kpos_qr_render("https://pay.example/x", KPOS_QR_TEXT, &bytes, &len), KPOS_OK,
               "a QR code to free");
    kpos_bytes_free(bytes, len);
    kpos_bytes_free(bytes, len);
    cases_run++;
    CHECK(1, "freeing bytes twice is harmless");
    kpos_bytes_free(on_stack, sizeof on_stack);
    kpos_bytes_free(on_heap, 16);
    kpos_bytes_free(on_stack + 3, 5);
    cases_run++;
    CHECK(on_stack[0] == 0, "foreign pointers are left alone");
    free(on_heap);
    CHECK_CODE(kpos_qr_render("https://pay.example/y", KPOS_QR_TEXT, &bytes, &len), KPOS_OK,
               "another QR code to free");
    kpos_bytes_free(bytes, len + 1);
    kpos_bytes_free(bytes + 1, len - 1);
    kpos_bytes_free(bytes, len);
    cases_run++;
    CHECK(1, "a wrong length, an inner pointer and a second free do no harm");
    kpos_string_free(NULL);
    cases_run++;
    CHECK(1, "kpos_string_free(NULL) is harmless");
}

static void journal_cases(const struct world *w)
{
    char *json = (char *)"untouched";
    expect(kpos_journal_pending(w->client, &json), KPOS_E_INVALID_ARGUMENT, "-",
           "kpos_journal_pending", "a client without journal_dir");
    cases_run++;
    CHECK(strcmp(json, "untouched") == 0, "a refused journal_pending writes no output");
    json = NULL;
    CHECK_CODE(kpos_journal_pending(w->journal_client, &json), KPOS_OK,
               "the journal client lists its pending work");
    kpos_string_free(json);
}

/* A temporary journal directory, removed (one level deep) at the end. */
static char journal_dir[64];

static void remove_journal_dir(void)
{
    DIR *d = opendir(journal_dir);
    struct dirent *e;
    char path[512];
    if (d == NULL)
        return;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        snprintf(path, sizeof path, "%s/%s", journal_dir, e->d_name);
        unlink(path);
    }
    closedir(d);
    rmdir(journal_dir);
}

/* ---- numbers from C -------------------------------------------------------------------- */

static void unknown_numbers(void)
{
    static const uint32_t levels[] = {0, 6, 7, 99, 0x7FFFFFFFu, 0x80000000u, 0xFFFFFFFFu};
    static const uint32_t statuses[] = {8, 9, 50, 98, 100, 0x80000000u, 0xFFFFFFFFu};
    static const uint32_t codes[] = {2, 9, 16, 29, 34, 49, 51, 89, 91, 0x80000000u, 0xFFFFFFFFu};
    char name[128];
    size_t i;

    for (i = 0; i < sizeof levels / sizeof levels[0]; i++) {
        snprintf(name, sizeof name, "log level %u", levels[i]);
        expect(kpos_set_log_callback(NULL, NULL, levels[i]), KPOS_E_INVALID_ARGUMENT, "-",
               "kpos_set_log_callback", name);
    }
    for (i = 0; i < sizeof statuses / sizeof statuses[0]; i++) {
        snprintf(name, sizeof name, "status %u is named UNKNOWN and is not terminal",
                 statuses[i]);
        cases_run++;
        CHECK(strcmp(kpos_status_name(statuses[i]), "UNKNOWN") == 0 &&
                  kpos_status_is_terminal(statuses[i]) == 0,
              name);
    }
    for (i = 0; i < sizeof statuses / sizeof statuses[0]; i++) {
        snprintf(name, sizeof name, "kpos_status_display_text of status %u", statuses[i]);
        cases_run++;
        CHECK(strcmp(kpos_status_display_text(statuses[i]), "Checking the payment status...") ==
                  0,
              name);
    }
    for (i = 0; i < sizeof codes / sizeof codes[0]; i++) {
        snprintf(name, sizeof name,
                 "result code %u is KPOS_E_UNRECOGNIZED with a text, action contact support",
                 codes[i]);
        cases_run++;
        CHECK(strcmp(kpos_result_name(codes[i]), "KPOS_E_UNRECOGNIZED") == 0 &&
                  strlen(kpos_result_text(codes[i])) > 0 &&
                  kpos_result_action(codes[i]) == KPOS_ACTION_CONTACT_SUPPORT,
              name);
    }
}

/* ---- double frees ---------------------------------------------------------------------- */

static void double_frees(void)
{
    kpos_client *client = test_client(NULL);
    kpos_session *session = test_session(client);
    uint32_t status = 1234;

    kpos_session_free(session);
    kpos_session_free(session);
    kpos_client_free(client);
    kpos_client_free(client);
    kpos_string_free(NULL);
    cases_run++;
    CHECK(1, "freeing a session and a client twice is harmless");
    expect(kpos_session_poll(session, &status), KPOS_E_INVALID_ARGUMENT, "-",
           "kpos_session_poll", "a session freed twice");
    expect(kpos_session_create(client, VALID_ORDER, &out_session), KPOS_E_INVALID_ARGUMENT, "-",
           "kpos_session_create", "a client freed twice");
    cases_run++;
    CHECK(status == 1234 && out_session == NULL, "refused calls write no output");
}

int main(void)
{
    struct world w;
    struct text_context tc;
    kpos_session *freed = NULL;

    memset(&w, 0, sizeof w);
    w.client = test_client(NULL);
    w.session = test_session(w.client);
    w.freed_client = test_client(NULL);
    kpos_client_free(w.freed_client);
    snprintf(w.result_url, sizeof w.result_url, "%s", kpos_session_result_url(w.session));
    freed = test_session(w.client);
    kpos_session_free(freed);
    w.freed_session = freed;
    snprintf(w.config, sizeof w.config,
             "{\"api_url\":\"%s\",\"username\":\"%s\",\"password\":\"%s\"}",
             getenv("KLARNA_API_URL"), getenv("KLARNA_USERNAME"), getenv("KLARNA_PASSWORD"));
    CHECK_CODE(kpos_session_poll(w.session, &out_status), KPOS_OK, "the session is live");
    snprintf(journal_dir, sizeof journal_dir, "/tmp/kpos-corpus-XXXXXX");
    if (mkdtemp(journal_dir) == NULL) {
        printf("not ok - a temporary journal directory\n");
        return 1;
    }
    {
        char config[1280];
        snprintf(config, sizeof config,
                 "{\"api_url\":\"%s\",\"username\":\"%s\",\"password\":\"%s\","
                 "\"journal_dir\":\"%s\"}",
                 getenv("KLARNA_API_URL"), getenv("KLARNA_USERNAME"), getenv("KLARNA_PASSWORD"),
                 journal_dir);
        CHECK_CODE(kpos_client_new(config, &w.journal_client), KPOS_OK,
                   "a client with a journal");
    }

    null_in_every_pointer_position(&w);
    bad_handles(&w);
    tc.w = &w;
    for_each_line("text.txt", 3, text_case, &tc);
    for_each_line("orders.txt", 4, order_case, &w);
    for_each_line("configs.txt", 4, config_case, &w);
    for_each_line("resume.txt", 4, resume_case, &w);
    for_each_line("om_bodies.txt", 4, om_body_case, &w);
    for_each_line("om_ids.txt", 4, om_id_case, &w);
    for_each_line("history.txt", 3, history_case, &w);
    journal_cases(&w);
    webhooks();
    qr_cases();
    bytes_frees();
    unknown_numbers();
    double_frees();

    kpos_session_free(w.session);
    kpos_client_free(w.client);
    kpos_client_free(w.journal_client);
    remove_journal_dir();
    printf("# corpus: %d cases run; %d inputs skipped as larger than KPOS_CORPUS_MAX_BYTES\n",
           cases_run, cases_skipped);
    CHECK(cases_run + cases_skipped >= 200, "the corpus has at least 200 cases");
    return harness_exit();
}
