/*
 * chain_till.c: a group of the chain benchmark's tills (tests/bench/chain.sh). Each till is a
 * thread with a client of its own, as separate tills are. Customers arrive at random: a till
 * is idle for an exponentially distributed time (mean --idle-ms), then a customer pays; the
 * simulator's automatic customer approves 5-30 s later. A session creation refused by Klarna's
 * rate limit is tried again after the Retry-After the library reports (a new creation, as a
 * till would; the library never repeats one). Customers arrive for --seconds; payments under
 * way then are finished.
 *
 * Status changes come by polling (kpos_session_wait), or, with --relay, by webhook: the chain's
 * receiver (chain_receiver.c) verifies Klarna's callbacks and relays them over a connection this
 * program opens to it (tills sit behind NAT); a relay thread hands each one to
 * kpos_webhook_verify on the owning till's client, which confirms a COMPLETED with one status
 * read and wakes the till's wait.
 *
 * Output, one line per event on standard output:
 *   P <session_id> <unix_ms>   a payment the till saw COMPLETED, and when
 *   R                          a session creation refused with KPOS_E_RATE_LIMITED
 *   F <what> <detail>          a payment that failed (any end but COMPLETED)
 *   W <code>                   a relayed callback the till's client refused
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "klarna_pos.h"

/* A till gives up on a payment this long after creating it (a wait ends at most every 60 s). */
#define PAYMENT_PATIENCE_US (150.0 * 1e6)
/* The mean approval time of the simulator's customers (5-30 s), for the first arrival. */
#define MEAN_APPROVAL_MS 17500.0

static const char *api_url;
static const char *webhook_base; /* NULL: polling */
static const char *secret;
static int group, first_till, ntills;
static double seconds, idle_ms, start_us;
static pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;
static kpos_client **clients;

static void emit(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void emit(const char *fmt, ...)
{
    va_list ap;
    pthread_mutex_lock(&out_lock);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    fflush(stdout);
    pthread_mutex_unlock(&out_lock);
}

static uint64_t next_random(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* Uniform in (0, 1]. */
static double uniform(uint64_t *state)
{
    return ((double)(next_random(state) >> 11) + 1.0) / 9007199254740992.0;
}

static void sleep_ms(double ms)
{
    struct timespec ts;
    if (ms <= 0)
        return;
    ts.tv_sec = (time_t)(ms / 1000.0);
    ts.tv_nsec = (long)((ms - (double)ts.tv_sec * 1000.0) * 1e6);
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

static long long unix_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The last error's message without line breaks, for one output line. */
static const char *last_message(void)
{
    static __thread char buf[512];
    size_t i;
    snprintf(buf, sizeof buf, "%s", kpos_last_error_message());
    for (i = 0; buf[i]; i++)
        if (buf[i] == '\n' || buf[i] == '\r')
            buf[i] = ' ';
    return buf;
}

/* retry_after_ms of the last error, 1000 when it has none. */
static double last_retry_after_ms(void)
{
    const char *json = kpos_last_error_json();
    const char *at = strstr(json, "\"retry_after_ms\":");
    if (at == NULL)
        return 1000.0;
    at += strlen("\"retry_after_ms\":");
    return *at >= '0' && *at <= '9' ? atof(at) : 1000.0;
}

static void pay(int till, kpos_client *client, int sale, uint64_t *rng, double arrivals_end)
{
    char order[1024];
    kpos_session *s = NULL;
    uint32_t status = KPOS_STATUS_CREATED;
    double created;
    int attempt = 0;
    kpos_result rc;
    for (;;) {
        snprintf(order, sizeof order,
                 "{\"purchase_country\":\"SE\",\"purchase_currency\":\"SEK\",\"locale\":\"sv-SE\","
                 "\"order_amount\":9000,\"order_tax_amount\":964,"
                 "\"order_lines\":[{\"type\":\"physical\",\"reference\":\"CAF-CAP-L\","
                 "\"name\":\"Cappuccino, stor\",\"quantity\":2,\"unit_price\":4500,"
                 "\"tax_rate\":1200,\"total_amount\":9000,\"total_tax_amount\":964}],"
                 "\"merchant_reference1\":\"chain-%d-%d-%d\",\"merchant_reference2\":\"till-%d\"}",
                 till, sale, attempt, till);
        rc = kpos_session_create(client, order, &s);
        if (rc == KPOS_OK)
            break;
        if (rc != KPOS_E_RATE_LIMITED) {
            emit("F create %s %s\n", kpos_result_name(rc), last_message());
            return;
        }
        emit("R\n");
        attempt++;
        if (now_us() > arrivals_end + PAYMENT_PATIENCE_US) {
            emit("F create-rate-limited %d attempts\n", attempt);
            return;
        }
        /* As long as Klarna asked, then a random part of a second more. */
        sleep_ms(last_retry_after_ms() + 1000.0 * uniform(rng));
    }
    created = now_us();
    while (!kpos_status_is_terminal(status)) {
        rc = kpos_session_wait(s, 60000, &status);
        if (rc == KPOS_OK)
            continue;
        if (rc == KPOS_E_TIMEOUT && now_us() - created < PAYMENT_PATIENCE_US)
            continue;
        emit("F wait %s %s %s\n", kpos_session_id(s), kpos_result_name(rc), last_message());
        kpos_session_free(s);
        return;
    }
    if (status == KPOS_STATUS_COMPLETED)
        emit("P %s %lld\n", kpos_session_id(s), unix_ms());
    else
        emit("F status %s %s\n", kpos_session_id(s), kpos_status_name(status));
    kpos_session_free(s);
}

static void *till_main(void *arg)
{
    int till = (int)(intptr_t)arg;
    kpos_client *client = clients[till - first_till];
    uint64_t rng = (uint64_t)till * 0x2545f4914f6cdd1dULL ^ (uint64_t)unix_ms();
    double arrivals_end = start_us + seconds * 1e6;
    int sale = 0;
    /* The first customer comes as if the chain had been open for a while. */
    double first = -log(uniform(&rng)) * (idle_ms + MEAN_APPROVAL_MS);
    for (;;) {
        double left_ms = (arrivals_end - now_us()) / 1000.0;
        if (first >= left_ms)
            break;
        sleep_ms(first);
        pay(till, client, sale++, &rng, arrivals_end);
        first = -log(uniform(&rng)) * idle_ms;
    }
    return NULL;
}

/* Reads relayed callbacks "<till>\t<target>\t<body>\n" and verifies each on its till's client. */
static void *relay_main(void *arg)
{
    int fd = (int)(intptr_t)arg;
    FILE *in = fdopen(fd, "r");
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    if (in == NULL)
        return NULL;
    while ((len = getline(&line, &cap, in)) > 0) {
        char *target, *body;
        int till;
        uint32_t status = 0;
        kpos_result rc;
        if (line[len - 1] == '\n')
            line[--len] = '\0';
        target = strchr(line, '\t');
        body = target ? strchr(target + 1, '\t') : NULL;
        if (body == NULL)
            continue;
        *target++ = '\0';
        *body++ = '\0';
        till = atoi(line);
        if (till < first_till || till >= first_till + ntills)
            continue;
        rc = kpos_webhook_verify(clients[till - first_till], (const uint8_t *)target,
                                 strlen(target), (const uint8_t *)body, strlen(body), NULL,
                                 &status);
        if (rc != KPOS_OK)
            emit("W %s %s\n", kpos_result_name(rc), last_message());
    }
    free(line);
    fclose(in);
    return NULL;
}

static int connect_relay(const char *hostport)
{
    char host[64];
    const char *colon = strrchr(hostport, ':');
    struct sockaddr_in addr;
    char hello[32];
    int fd;
    if (colon == NULL || (size_t)(colon - hostport) >= sizeof host)
        return -1;
    memcpy(host, hostport, (size_t)(colon - hostport));
    host[colon - hostport] = '\0';
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)atoi(colon + 1));
    if (inet_pton(AF_INET, host, &addr.sin_addr) != 1)
        return -1;
    fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof addr) != 0)
        return -1;
    snprintf(hello, sizeof hello, "hello %d\n", group);
    if (write(fd, hello, strlen(hello)) != (ssize_t)strlen(hello))
        return -1;
    return fd;
}

int main(int argc, char **argv)
{
    const char *relay = NULL;
    pthread_t *threads;
    pthread_attr_t attr;
    int i;
    for (i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--url"))
            api_url = argv[i + 1];
        else if (!strcmp(argv[i], "--group"))
            group = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--first-till"))
            first_till = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--tills"))
            ntills = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--seconds"))
            seconds = atof(argv[i + 1]);
        else if (!strcmp(argv[i], "--idle-ms"))
            idle_ms = atof(argv[i + 1]);
        else if (!strcmp(argv[i], "--relay"))
            relay = argv[i + 1];
        else if (!strcmp(argv[i], "--webhook-url"))
            webhook_base = argv[i + 1];
        else if (!strcmp(argv[i], "--secret"))
            secret = argv[i + 1];
        else {
            fprintf(stderr, "chain_till: unknown argument %s\n", argv[i]);
            return 2;
        }
    }
    if (api_url == NULL || ntills <= 0 || seconds <= 0 || (relay != NULL) != (webhook_base != NULL)) {
        fprintf(stderr, "usage: chain_till --url URL --group G --first-till I --tills N "
                        "--seconds S --idle-ms MS [--relay HOST:PORT --webhook-url URL "
                        "--secret HEX]\n");
        return 2;
    }
    clients = calloc((size_t)ntills, sizeof *clients);
    threads = calloc((size_t)ntills, sizeof *threads);
    if (clients == NULL || threads == NULL)
        return 1;
    for (i = 0; i < ntills; i++) {
        char config[1024];
        int till = first_till + i;
        if (webhook_base != NULL)
            snprintf(config, sizeof config,
                     "{\"api_url\":\"%s\",\"username\":\"test_user\",\"password\":\"test_password\","
                     "\"user_agent\":\"ChainTill/1.0 (till %d)\",\"webhook_url\":\"%s?group=%d&till=%d\","
                     "\"webhook_secret\":\"%s\"}",
                     api_url, till, webhook_base, group, till, secret ? secret : "");
        else
            snprintf(config, sizeof config,
                     "{\"api_url\":\"%s\",\"username\":\"test_user\",\"password\":\"test_password\","
                     "\"user_agent\":\"ChainTill/1.0 (till %d)\"}",
                     api_url, till);
        if (kpos_client_new(config, &clients[i]) != KPOS_OK) {
            fprintf(stderr, "chain_till: till %d: %s\n", till, kpos_last_error_message());
            return 1;
        }
    }
    if (relay != NULL) {
        pthread_t relay_thread;
        int fd = connect_relay(relay);
        if (fd < 0) {
            fprintf(stderr, "chain_till: cannot reach the relay at %s\n", relay);
            return 1;
        }
        pthread_create(&relay_thread, NULL, relay_main, (void *)(intptr_t)fd);
        pthread_detach(relay_thread);
    }
    start_us = now_us();
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 1 << 20);
    for (i = 0; i < ntills; i++)
        if (pthread_create(&threads[i], &attr, till_main, (void *)(intptr_t)(first_till + i)) != 0) {
            fprintf(stderr, "chain_till: cannot start till %d\n", first_till + i);
            return 1;
        }
    for (i = 0; i < ntills; i++)
        pthread_join(threads[i], NULL);
    for (i = 0; i < ntills; i++)
        kpos_client_free(clients[i]);
    free(clients);
    free(threads);
    return 0;
}
