/*
 * adversarial_fork: a till process that forks (a worker per sale, a daemonising launcher).
 *
 * 1. A client with a pooled keep-alive connection, then fork: parent and child each take their
 *    own payments on the shared client at the same time. Each must get its own answers (its own
 *    session ids and order ids), and the child's first request must open a connection of its
 *    own: a connection opened by the parent is never used by the child.
 * 2. Forks while other threads are inside the library (creating and freeing clients, reading
 *    through the handle registry, logging, changing the log callback): every child's first
 *    calls complete (a child that hangs is killed by its alarm and counted).
 */

#define _POSIX_C_SOURCE 200809L

#include <pthread.h>
#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "sim_control.h"

#define PAYMENTS 6
#define FORKS 60

static const char *order_for(long amount, const char *reference, char *out, size_t size)
{
    snprintf(out, size,
             "{\"purchase_country\":\"SE\",\"purchase_currency\":\"SEK\",\"locale\":\"sv-SE\","
             "\"order_amount\":%ld,\"order_tax_amount\":0,"
             "\"order_lines\":[{\"type\":\"physical\",\"reference\":\"X\",\"name\":\"Item\","
             "\"quantity\":1,\"unit_price\":%ld,\"tax_rate\":0,\"total_amount\":%ld,"
             "\"total_tax_amount\":0}],\"merchant_reference1\":\"%s\"}",
             amount, amount, amount, reference);
    return out;
}

/* Takes PAYMENTS payments as `role`, each with its own amount and order id; returns how many
 * came back with exactly the session id, amount and order id of this process's own sale. */
static int take_payments(kpos_client *client, const char *role, long base_amount)
{
    int good = 0, i;
    for (i = 0; i < PAYMENTS; i++) {
        char order[1024], reference[64], body[128], expected[64], sim[8192];
        kpos_session *s = NULL;
        uint32_t status = 0;
        long amount = base_amount + i;
        const char *got;

        snprintf(reference, sizeof reference, "%s-%d", role, i);
        snprintf(expected, sizeof expected, "order-%s-%d", role, i);
        if (kpos_session_create(client, order_for(amount, reference, order, sizeof order), &s) !=
            KPOS_OK) {
            printf("# %s: create: %s\n", role, kpos_last_error_message());
            continue;
        }
        snprintf(body, sizeof body, "{\"order_id\":\"%s\"}", expected);
        if (sim_customer(kpos_session_id(s), "approve", body) != 200 ||
            sim_session(kpos_session_id(s), sim, sizeof sim) != 200 ||
            sim_json_int(sim, "order_amount") != amount) {
            printf("# %s: the simulator does not know session %s with amount %ld\n", role,
                   kpos_session_id(s), amount);
            kpos_session_free(s);
            continue;
        }
        if (kpos_session_poll(s, &status) == KPOS_OK && status == KPOS_STATUS_COMPLETED &&
            (got = kpos_session_order_id(s)) != NULL && strcmp(got, expected) == 0)
            good++;
        else
            printf("# %s: payment %d: status %u, order id %s (expected %s): %s\n", role, i,
                   status, kpos_session_order_id(s) ? kpos_session_order_id(s) : "(none)",
                   expected, kpos_last_error_message());
        kpos_session_free(s);
    }
    return good;
}

static void connection_is_never_shared(void)
{
    kpos_client *client = test_client(NULL);
    kpos_session *warm = test_session(client);
    uint32_t status = 0;
    long before;
    pid_t pid;
    int wstatus = 0, good;

    CHECK(kpos_session_poll(warm, &status) == KPOS_OK, "the parent has a pooled connection");
    before = sim_stat("connections");
    fflush(stdout);
    pid = fork();
    if (pid == 0) {
        kpos_session *first = NULL;
        int own_connection;
        alarm(60);
        /* The parent polls in a loop meanwhile, on its own connection only. */
        CHECK(kpos_session_create(client, VALID_ORDER, &first) == KPOS_OK,
              "child: the first call after fork completes");
        own_connection = sim_stat("connections") > before;
        CHECK(own_connection, "child: its first request went over a connection of its own");
        kpos_session_free(first);
        good = take_payments(client, "child", 20000);
        CHECK(good == PAYMENTS, "child: every payment carries the child's own session and order");
        kpos_session_free(warm);
        kpos_client_free(client);
        fflush(stdout);
        _exit(harness_failures == 0 ? 0 : 1);
    }
    CHECK(pid > 0, "fork");
    good = take_payments(client, "parent", 10000);
    CHECK(good == PAYMENTS, "parent: every payment carries the parent's own session and order");
    CHECK(waitpid(pid, &wstatus, 0) == pid && WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0,
          "the child passed its checks");
    printf("# connections before fork %ld, after both %ld\n", before, sim_stat("connections"));
    kpos_session_free(warm);
    kpos_client_free(client);
}

static volatile int stop_busy = 0;
static char busy_config[1024];

static void quiet_log(void *userdata, uint32_t level, const char *message)
{
    (void)userdata;
    (void)level;
    (void)message;
}

/* Creates and frees clients without pause: the client registry's lock is taken all the time,
 * and the client's log line goes through the log sink. */
static void *churn_clients(void *arg)
{
    (void)arg;
    while (!stop_busy) {
        kpos_client *c = NULL;
        if (kpos_client_new(busy_config, &c) == KPOS_OK)
            kpos_client_free(c);
    }
    return NULL;
}

/* Reads through the registry (a journal call on a client without journal) and replaces the
 * log callback without pause. */
static void *churn_reads(void *arg)
{
    kpos_client *client = arg;
    int n = 0;
    while (!stop_busy) {
        char *json = NULL;
        if (kpos_journal_pending(client, &json) == KPOS_OK)
            kpos_string_free(json);
        if (++n % 8 == 0 &&
            kpos_set_log_callback(n % 16 ? quiet_log : NULL, NULL, KPOS_LOG_DEBUG) != KPOS_OK)
            printf("# kpos_set_log_callback: %s\n", kpos_last_error_message());
    }
    return NULL;
}

static void fork_while_threads_are_inside_the_library(void)
{
    kpos_client *client = test_client(NULL);
    pthread_t a, b;
    int i, completed = 0, hung = 0;

    snprintf(busy_config, sizeof busy_config,
             "{\"api_url\":\"%s\",\"username\":\"u\",\"password\":\"p\"}",
             getenv("KLARNA_API_URL"));
    CHECK_CODE(kpos_set_log_callback(quiet_log, NULL, KPOS_LOG_DEBUG), KPOS_OK,
               "a log callback is installed");
    pthread_create(&a, NULL, churn_clients, NULL);
    pthread_create(&b, NULL, churn_reads, client);
    for (i = 0; i < FORKS; i++) {
        pid_t pid;
        int wstatus = 0;
        fflush(stdout);
        pid = fork();
        if (pid == 0) {
            kpos_client *c = NULL;
            char *json = NULL;
            int ok;
            alarm(20);
            ok = kpos_client_new(busy_config, &c) == KPOS_OK;
            kpos_client_free(c);
            ok = ok && kpos_journal_pending(client, &json) == KPOS_E_INVALID_ARGUMENT;
            ok = ok && kpos_set_log_callback(quiet_log, NULL, KPOS_LOG_DEBUG) == KPOS_OK;
            ok = ok && kpos_set_log_callback(NULL, NULL, KPOS_LOG_DEBUG) == KPOS_OK;
            _exit(ok ? 0 : 1);
        }
        if (pid < 0)
            break;
        waitpid(pid, &wstatus, 0);
        if (WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0)
            completed++;
        else if (WIFSIGNALED(wstatus) && WTERMSIG(wstatus) == SIGALRM)
            hung++;
    }
    stop_busy = 1;
    pthread_join(a, NULL);
    pthread_join(b, NULL);
    CHECK_CODE(kpos_set_log_callback(NULL, NULL, KPOS_LOG_DEBUG), KPOS_OK,
               "the log callback is removed");
    printf("# forks: %d, children that completed: %d, that hung: %d\n", FORKS, completed, hung);
    CHECK(completed == FORKS, "every child forked amid busy threads completes its first calls");
    kpos_client_free(client);
}

int main(void)
{
    connection_is_never_shared();
    fork_while_threads_are_inside_the_library();
    return harness_exit();
}
