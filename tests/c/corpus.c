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

#include "harness.h"

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
    if (strlen(a) > max || (b != NULL && strlen(b) > max)) {
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

/* Decodes the C escapes \xNN \n \r \t \\ of the data files; the caller frees. */
static char *unescape(const char *s)
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
    return b.data;
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

/* A data file's text field: escapes decoded, ${URL} replaced, generators run. */
static char *materialize(const char *field)
{
    char *text = with_url(field);
    char *parts[6];
    struct buf b = {NULL, 0, 0};
    char *p0, *p1, *p3, *p4, *p5;

    if (text[0] != '@') {
        char *plain = unescape(text);
        free(text);
        return plain;
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
    return b.data;
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
    char label[512], pattern[300];
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
        snprintf(pattern, sizeof pattern, "\"field\":\"%s\"", field);
        if (strstr(kpos_last_error_json(), pattern) == NULL) {
            printf("# %s: field %s not named in %s\n", label, field, kpos_last_error_json());
            passed = 0;
        }
    }
    check_at(passed, label, __FILE__, __LINE__);
}

/* ---- the entry points ------------------------------------------------------------------ */

/*
 * Argument kinds: 'C' client handle, 'S' session handle, 'j' JSON text, 'i' identifier text,
 * 'u' URL text, 'o' out-pointer for a handle, 's' out-pointer for a status, 'n' JSON text for
 * which NULL means "read the environment", 'w' a wait timeout (not a pointer).
 */
typedef kpos_result (*call_fn)(void *a[4]);

struct entry {
    const char *name;
    const char *kinds;
    call_fn call;
};

static kpos_result call_client_new(void *a[4])
{
    return kpos_client_new((const char *)a[0], (kpos_client **)a[1]);
}
static kpos_result call_session_create(void *a[4])
{
    return kpos_session_create((kpos_client *)a[0], (const char *)a[1], (kpos_session **)a[2]);
}
static kpos_result call_session_resume(void *a[4])
{
    return kpos_session_resume((kpos_client *)a[0], (const char *)a[1], (const char *)a[2],
                               (kpos_session **)a[3]);
}
static kpos_result call_session_poll(void *a[4])
{
    return kpos_session_poll((kpos_session *)a[0], (uint32_t *)a[1]);
}
static kpos_result call_session_wait(void *a[4])
{
    return kpos_session_wait((kpos_session *)a[0], 10, (uint32_t *)a[2]);
}
static kpos_result call_session_cancel(void *a[4])
{
    return kpos_session_cancel((kpos_session *)a[0]);
}
static kpos_result call_session_failure(void *a[4])
{
    return kpos_session_failure((const kpos_session *)a[0]);
}

static const struct entry ENTRIES[] = {
    {"kpos_client_new", "no", call_client_new},
    {"kpos_session_create", "Cjo", call_session_create},
    {"kpos_session_resume", "Ciuo", call_session_resume},
    {"kpos_session_poll", "Ss", call_session_poll},
    {"kpos_session_wait", "Sws", call_session_wait},
    {"kpos_session_cancel", "S", call_session_cancel},
    {"kpos_session_failure", "S", call_session_failure},
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
    kpos_client *freed_client;
    kpos_session *freed_session;
    char config[1024];
    char result_url[1024];
};

static kpos_client *out_client;
static kpos_session *out_session;
static uint32_t out_status;

/* Fills valid arguments for `kinds`. */
static void valid_args(const struct world *w, const char *kinds, void *a[4])
{
    int i;
    for (i = 0; kinds[i]; i++) {
        switch (kinds[i]) {
        case 'C': a[i] = w->client; break;
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
    out_client = NULL;
    out_session = NULL;
}

static void null_in_every_pointer_position(const struct world *w)
{
    size_t e;
    int i;
    char name[128];
    for (e = 0; e < N_ENTRIES; e++) {
        const struct entry *en = &ENTRIES[e];
        for (i = 0; en->kinds[i]; i++) {
            void *a[4] = {NULL, NULL, NULL, NULL};
            if (en->kinds[i] == 'n' || en->kinds[i] == 'w')
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
            if (kind != 'C' && kind != 'S')
                continue;
            bad[0] = kind == 'C' ? (void *)w->freed_client : (void *)w->freed_session;
            bad[1] = kind == 'C' ? (void *)w->session : (void *)w->client;
            bad[2] = (void *)(uintptr_t)0x10;
            bad[3] = (void *)&out_status;
            for (v = 0; v < 4; v++) {
                void *a[4] = {NULL, NULL, NULL, NULL};
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
            int is_text = kind == 'j' || kind == 'n' || kind == 'i' || kind == 'u';
            int is_json = kind == 'j' || kind == 'n';
            void *a[4] = {NULL, NULL, NULL, NULL};
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

    null_in_every_pointer_position(&w);
    bad_handles(&w);
    tc.w = &w;
    for_each_line("text.txt", 3, text_case, &tc);
    for_each_line("orders.txt", 4, order_case, &w);
    for_each_line("configs.txt", 4, config_case, &w);
    for_each_line("resume.txt", 4, resume_case, &w);
    unknown_numbers();
    double_frees();

    kpos_session_free(w.session);
    kpos_client_free(w.client);
    printf("# corpus: %d cases run; %d inputs skipped as larger than KPOS_CORPUS_MAX_BYTES\n",
           cases_run, cases_skipped);
    CHECK(cases_run + cases_skipped >= 200, "the corpus has at least 200 cases");
    return harness_exit();
}
