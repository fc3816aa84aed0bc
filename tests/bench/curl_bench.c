/*
 * curl_bench: the benchmark's work done the way a till without this library would: libcurl
 * with one keep-alive easy handle per thread and JSON built and picked apart by hand.
 *
 *   curl_bench URL seq N          N x (create a session + one status read), one handle
 *   curl_bench URL threads T M    T threads with one handle each, M x (create + read) each
 *
 * The request body is the order the library would send (the till's fields plus
 * "acquiring_channel" and "distribution"); answers are checked for HTTP 200 and the fields the
 * till needs (session_id, result_url, status). One line of `key=value` results on stdout.
 */

#define _GNU_SOURCE

#include <pthread.h>

#include <curl/curl.h>

#include "bench.h"

static const char *api_url;

struct till {
    CURL *curl;
    struct curl_slist *headers;
    char create_url[256];
    char body[1024];
    char *answer;
    size_t answer_len, answer_cap;
};

static size_t collect(char *data, size_t size, size_t count, void *userdata)
{
    struct till *t = userdata;
    size_t n = size * count;
    if (t->answer_len + n + 1 > t->answer_cap) {
        t->answer_cap = (t->answer_len + n + 1) * 2;
        t->answer = realloc(t->answer, t->answer_cap);
    }
    memcpy(t->answer + t->answer_len, data, n);
    t->answer_len += n;
    t->answer[t->answer_len] = '\0';
    return n;
}

static void till_init(struct till *t)
{
    memset(t, 0, sizeof *t);
    t->curl = curl_easy_init();
    t->headers = curl_slist_append(NULL, "Content-Type: application/json");
    t->headers = curl_slist_append(t->headers, "Accept: application/json");
    snprintf(t->create_url, sizeof t->create_url, "%s/payments/v1/sessions", api_url);
    curl_easy_setopt(t->curl, CURLOPT_USERPWD, "test_user:test_password");
    curl_easy_setopt(t->curl, CURLOPT_USERAGENT, "BenchTill/1.0 libcurl");
    curl_easy_setopt(t->curl, CURLOPT_HTTPHEADER, t->headers);
    curl_easy_setopt(t->curl, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(t->curl, CURLOPT_WRITEDATA, t);
    curl_easy_setopt(t->curl, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
    curl_easy_setopt(t->curl, CURLOPT_TIMEOUT_MS, 30000L);
    curl_easy_setopt(t->curl, CURLOPT_NOSIGNAL, 1L);
    /* Over HTTPS (the simulator with --tls-cert), the test CA to trust. */
    if (getenv("KPOS_BENCH_CA_FILE") != NULL && *getenv("KPOS_BENCH_CA_FILE") != '\0')
        curl_easy_setopt(t->curl, CURLOPT_CAINFO, getenv("KPOS_BENCH_CA_FILE"));
}

static void till_cleanup(struct till *t)
{
    curl_slist_free_all(t->headers);
    curl_easy_cleanup(t->curl);
    free(t->answer);
}

/* Copies the string value of `"key":"..."` from the answer (no escapes in these values). */
static int json_string(const char *json, const char *key, char *out, size_t size)
{
    char pattern[64];
    const char *p, *end;
    snprintf(pattern, sizeof pattern, "\"%s\":\"", key);
    p = strstr(json, pattern);
    if (p == NULL)
        return 0;
    p += strlen(pattern);
    end = strchr(p, '"');
    if (end == NULL || (size_t)(end - p) >= size)
        return 0;
    memcpy(out, p, (size_t)(end - p));
    out[end - p] = '\0';
    return 1;
}

static void fail(const char *what, struct till *t)
{
    fprintf(stderr, "%s failed: %s\n", what, t->answer ? t->answer : "(no answer)");
    exit(1);
}

static int perform(struct till *t)
{
    long code = 0;
    t->answer_len = 0;
    if (t->answer)
        t->answer[0] = '\0';
    if (curl_easy_perform(t->curl) != CURLE_OK)
        return 0;
    curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &code);
    return code == 200 && t->answer != NULL;
}

/* One unit of work: create a session and read its status once. */
static void create_and_read(struct till *t)
{
    char session_id[128], result_url[512], status[32];
    snprintf(t->body, sizeof t->body,
             "{\"purchase_country\":\"%s\",\"purchase_currency\":\"%s\",\"locale\":\"%s\","
             "\"order_amount\":%d,\"order_tax_amount\":%d,"
             "\"order_lines\":[{\"type\":\"physical\",\"reference\":\"%s\","
             "\"name\":\"%s\",\"quantity\":%d,\"unit_price\":%d,\"tax_rate\":%d,"
             "\"total_amount\":%d,\"total_tax_amount\":%d}],"
             "\"merchant_reference1\":\"%s\",\"merchant_reference2\":\"%s\","
             "\"acquiring_channel\":\"in_store\",\"distribution\":{\"method\":\"one_qr\"}}",
             "SE", "SEK", "sv-SE", 9000, 964, "CAF-CAP-L", "Cappuccino, stor", 2, 4500, 1200,
             9000, 964, "K042-1-000731", "042-till-1");
    curl_easy_setopt(t->curl, CURLOPT_URL, t->create_url);
    curl_easy_setopt(t->curl, CURLOPT_POSTFIELDS, t->body);
    if (!perform(t) || !json_string(t->answer, "session_id", session_id, sizeof session_id) ||
        !json_string(t->answer, "result_url", result_url, sizeof result_url))
        fail("create", t);
    curl_easy_setopt(t->curl, CURLOPT_URL, result_url);
    curl_easy_setopt(t->curl, CURLOPT_HTTPGET, 1L);
    if (!perform(t) || !json_string(t->answer, "status", status, sizeof status) ||
        strcmp(status, "DISTRIBUTED") != 0)
        fail("status read", t);
}

static void run_seq(int n)
{
    struct till t;
    double *lat = malloc(sizeof(double) * (size_t)n);
    double start, total, mid;
    int i;
    till_init(&t);
    create_and_read(&t); /* connects */
    start = now_us();
    for (i = 0; i < n; i++) {
        double s = now_us();
        create_and_read(&t);
        lat[i] = now_us() - s;
    }
    total = now_us() - start;
    mid = median(lat, (size_t)n); /* sorts lat */
    printf("side=curl mode=seq n=%d total_ms=%.1f median_us=%.1f p90_us=%.1f p99_us=%.1f\n", n,
           total / 1000.0, mid, percentile(lat, (size_t)n, 90), percentile(lat, (size_t)n, 99));
    free(lat);
    till_cleanup(&t);
}

struct worker {
    pthread_t thread;
    int iterations;
};

static pthread_barrier_t start_line;

static void *work(void *arg)
{
    struct worker *w = arg;
    struct till t;
    int i;
    till_init(&t);
    pthread_barrier_wait(&start_line);
    for (i = 0; i < w->iterations; i++)
        create_and_read(&t);
    till_cleanup(&t);
    return NULL;
}

static void run_threads(int threads, int iterations)
{
    struct worker *w = calloc((size_t)threads, sizeof *w);
    double start, total;
    int i;
    pthread_barrier_init(&start_line, NULL, (unsigned)threads + 1);
    for (i = 0; i < threads; i++) {
        w[i].iterations = iterations;
        pthread_create(&w[i].thread, NULL, work, &w[i]);
    }
    pthread_barrier_wait(&start_line);
    start = now_us();
    for (i = 0; i < threads; i++)
        pthread_join(w[i].thread, NULL);
    total = now_us() - start;
    printf("side=curl mode=threads threads=%d per_thread=%d total_ms=%.1f sessions_per_s=%.0f\n",
           threads, iterations, total / 1000.0, threads * iterations / (total / 1e6));
    free(w);
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: curl_bench URL seq N | threads T M\n");
        return 64;
    }
    api_url = argv[1];
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (strcmp(argv[2], "seq") == 0)
        run_seq(atoi(argv[3]));
    else if (strcmp(argv[2], "threads") == 0 && argc > 4)
        run_threads(atoi(argv[3]), atoi(argv[4]));
    else {
        fprintf(stderr, "unknown mode %s\n", argv[2]);
        return 64;
    }
    curl_global_cleanup();
    return 0;
}
