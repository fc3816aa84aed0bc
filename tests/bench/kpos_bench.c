/*
 * kpos_bench: the benchmark's work done through the library's C ABI.
 *
 *   kpos_bench URL seq N          N x (create a session + one status read), one client;
 *                                 prints the median latency of one create + read
 *   kpos_bench URL threads T M    T threads sharing one client, M x (create + read) each
 *   kpos_bench URL rss N          resident set size before and after N sessions
 *   kpos_bench URL validate R     R validations of a 1000-line order (refused at its very end,
 *                                 so nothing is sent); prints the median time of one
 *
 * Credentials are the simulator's defaults. One line of `key=value` results on stdout.
 */

#define _GNU_SOURCE

#include <pthread.h>

#include "bench.h"
#include "klarna_pos.h"

static const char *api_url;

static kpos_client *new_client(void)
{
    char config[1024], ca[600] = "";
    const char *ca_file = getenv("KPOS_BENCH_CA_FILE");
    kpos_client *client = NULL;
    /* Over HTTPS (the simulator with --tls-cert), the test CA to trust. */
    if (ca_file != NULL && *ca_file != '\0')
        snprintf(ca, sizeof ca, ",\"ca_file\":\"%s\"", ca_file);
    /* No pacing: the benchmark measures the cost of a call, and the simulator has no rate limit
     * (against Klarna, keep the default of 40 status reads per second per client). */
    snprintf(config, sizeof config,
             "{\"api_url\":\"%s\",\"username\":\"test_user\",\"password\":\"test_password\","
             "\"user_agent\":\"BenchTill/1.0\",\"max_safe_requests_per_second\":0%s}",
             api_url, ca);
    if (kpos_client_new(config, &client) != KPOS_OK) {
        fprintf(stderr, "kpos_client_new: %s\n", kpos_last_error_message());
        exit(1);
    }
    return client;
}

/* One unit of work: create a session and read its status once. */
static void create_and_read(kpos_client *client)
{
    kpos_session *session = NULL;
    uint32_t status = 0;
    if (kpos_session_create(client, ORDER_JSON, &session) != KPOS_OK ||
        kpos_session_poll(session, &status) != KPOS_OK || status != KPOS_STATUS_DISTRIBUTED) {
        fprintf(stderr, "create + read: %s\n", kpos_last_error_message());
        exit(1);
    }
    kpos_session_free(session);
}

static void run_seq(int n)
{
    kpos_client *client = new_client();
    double *lat = malloc(sizeof(double) * (size_t)n);
    double start, total, mid;
    int i;
    create_and_read(client); /* connects */
    start = now_us();
    for (i = 0; i < n; i++) {
        double t = now_us();
        create_and_read(client);
        lat[i] = now_us() - t;
    }
    total = now_us() - start;
    mid = median(lat, (size_t)n); /* sorts lat */
    printf("side=kpos mode=seq n=%d total_ms=%.1f median_us=%.1f p90_us=%.1f p99_us=%.1f\n", n,
           total / 1000.0, mid, percentile(lat, (size_t)n, 90), percentile(lat, (size_t)n, 99));
    free(lat);
    kpos_client_free(client);
}

struct worker {
    pthread_t thread;
    kpos_client *client;
    int iterations;
};

static pthread_barrier_t start_line;

static void *work(void *arg)
{
    struct worker *w = arg;
    int i;
    pthread_barrier_wait(&start_line);
    for (i = 0; i < w->iterations; i++)
        create_and_read(w->client);
    return NULL;
}

static void run_threads(int threads, int iterations)
{
    kpos_client *client = new_client();
    struct worker *w = calloc((size_t)threads, sizeof *w);
    double start, total;
    int i;
    pthread_barrier_init(&start_line, NULL, (unsigned)threads + 1);
    for (i = 0; i < threads; i++) {
        w[i].client = client;
        w[i].iterations = iterations;
        pthread_create(&w[i].thread, NULL, work, &w[i]);
    }
    pthread_barrier_wait(&start_line);
    start = now_us();
    for (i = 0; i < threads; i++)
        pthread_join(w[i].thread, NULL);
    total = now_us() - start;
    printf("side=kpos mode=threads threads=%d per_thread=%d total_ms=%.1f sessions_per_s=%.0f\n",
           threads, iterations, total / 1000.0, threads * iterations / (total / 1e6));
    free(w);
    kpos_client_free(client);
}

static void run_rss(int n)
{
    kpos_client *client = new_client();
    long before, after;
    int i;
    /* Warm up: first connection, thread-locals, allocator arenas. */
    for (i = 0; i < 1000; i++)
        create_and_read(client);
    before = rss_kib();
    for (i = 0; i < n; i++)
        create_and_read(client);
    after = rss_kib();
    printf("side=kpos mode=rss sessions=%d rss_before_kib=%ld rss_after_kib=%ld growth_kib=%ld\n",
           n, before, after, after - before);
    kpos_client_free(client);
}

static void run_validate(int rounds)
{
    kpos_client *client = new_client();
    char *valid = big_order(1000, 0);
    char *refused = big_order(1000, 1);
    double *lat = malloc(sizeof(double) * (size_t)rounds);
    kpos_session *session = NULL;
    double mid;
    int i;
    /* The same lines without the bad attachment are a valid order (the simulator agrees). */
    if (kpos_session_create(client, valid, &session) != KPOS_OK) {
        fprintf(stderr, "the valid 1000-line order was refused: %s\n", kpos_last_error_json());
        exit(1);
    }
    kpos_session_free(session);
    for (i = 0; i < rounds; i++) {
        double t = now_us();
        kpos_result rc = kpos_session_create(client, refused, &session);
        lat[i] = now_us() - t;
        if (rc != KPOS_E_BAD_REQUEST || strstr(kpos_last_error_json(), "attachment.body") == NULL) {
            fprintf(stderr, "expected a refusal at attachment.body, got %s: %s\n",
                    kpos_result_name(rc), kpos_last_error_json());
            exit(1);
        }
    }
    mid = median(lat, (size_t)rounds); /* sorts lat */
    printf("side=kpos mode=validate lines=1000 bytes=%zu rounds=%d median_us=%.1f min_us=%.1f\n",
           strlen(refused), rounds, mid, lat[0]);
    free(lat);
    free(valid);
    free(refused);
    kpos_client_free(client);
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: kpos_bench URL seq N | threads T M | rss N | validate R\n");
        return 64;
    }
    api_url = argv[1];
    if (strcmp(argv[2], "seq") == 0)
        run_seq(atoi(argv[3]));
    else if (strcmp(argv[2], "threads") == 0 && argc > 4)
        run_threads(atoi(argv[3]), atoi(argv[4]));
    else if (strcmp(argv[2], "rss") == 0)
        run_rss(atoi(argv[3]));
    else if (strcmp(argv[2], "validate") == 0)
        run_validate(atoi(argv[3]));
    else {
        fprintf(stderr, "unknown mode %s\n", argv[2]);
        return 64;
    }
    return 0;
}
