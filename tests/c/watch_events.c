/*
 * watch_events: kpos_session_watch. The listener sees each status once, in order, and exactly
 * one final status; after kpos_session_watch(s, NULL, NULL), kpos_session_free or
 * kpos_session_cancel returns it is not running and is not called again; it may call the
 * library, its own session's cancel, free and watch included; 100 sessions watched at once
 * take a bounded number of threads (counted in /proc/self/task); after fork() the child's copy of
 * a watch is inert.
 */

#define _POSIX_C_SOURCE 200809L

#include <dirent.h>
#include <pthread.h>
#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>

#include "harness.h"
#include "sim_control.h"

/* What to do from inside the listener when it sees DISTRIBUTED. */
enum inside { NOTHING, CANCEL_OWN, UNWATCH_OWN, FREE_OWN };

struct record {
    pthread_mutex_t lock;
    pthread_cond_t changed;
    kpos_session *session;
    uint32_t statuses[32];
    int count;
    int finals;
    int running;      /* a call is in progress */
    int other_handle; /* calls that named another session */
    int slow_ms;      /* each call takes this long */
    enum inside inside;
    kpos_result inside_rc;
    int inside_done;
    uint32_t status_seen_inside;
    int qr_seen_inside;
};

static void record_init(struct record *r, kpos_session *session)
{
    memset(r, 0, sizeof *r);
    pthread_mutex_init(&r->lock, NULL);
    pthread_cond_init(&r->changed, NULL);
    r->session = session;
}

static void record_destroy(struct record *r)
{
    pthread_mutex_destroy(&r->lock);
    pthread_cond_destroy(&r->changed);
}

static void sleep_ms(int ms)
{
    struct timespec pause;
    pause.tv_sec = ms / 1000;
    pause.tv_nsec = (long)(ms % 1000) * 1000000L;
    nanosleep(&pause, NULL);
}

static void listener(void *userdata, kpos_session *session, uint32_t status)
{
    struct record *r = userdata;

    pthread_mutex_lock(&r->lock);
    r->running = 1;
    if (session != r->session)
        r->other_handle++;
    if (r->count < (int)(sizeof r->statuses / sizeof r->statuses[0]))
        r->statuses[r->count] = status;
    r->count++;
    if (kpos_status_is_terminal(status))
        r->finals++;
    pthread_cond_broadcast(&r->changed);
    pthread_mutex_unlock(&r->lock);

    if (r->slow_ms > 0)
        sleep_ms(r->slow_ms);
    if (status == KPOS_STATUS_DISTRIBUTED && r->inside != NOTHING) {
        /* Any function may be called from here, the session's own included. */
        r->status_seen_inside = kpos_session_status(session);
        r->qr_seen_inside = kpos_session_qr_url(session) != NULL;
        if (r->inside == CANCEL_OWN)
            r->inside_rc = kpos_session_cancel(session);
        else if (r->inside == UNWATCH_OWN)
            r->inside_rc = kpos_session_watch(session, NULL, NULL);
        else if (r->inside == FREE_OWN)
            kpos_session_free(session);
        r->inside_done = 1;
    }

    pthread_mutex_lock(&r->lock);
    r->running = 0;
    pthread_cond_broadcast(&r->changed);
    pthread_mutex_unlock(&r->lock);
}

/* Whether the listener has seen `status` (or, with want_idle, also returned), within 20 s. */
static int wait_for(struct record *r, uint32_t status, int want_idle)
{
    struct timespec until;
    int seen = 0, i;

    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 20;
    pthread_mutex_lock(&r->lock);
    for (;;) {
        for (i = 0; i < r->count; i++)
            if (r->statuses[i] == status)
                seen = 1;
        if (seen && (!want_idle || !r->running))
            break;
        if (pthread_cond_timedwait(&r->changed, &r->lock, &until) != 0)
            break;
    }
    pthread_mutex_unlock(&r->lock);
    return seen;
}

/* Waits until a call is in progress (bounded, 20 s); 1 when one is. */
static int wait_running(struct record *r)
{
    struct timespec until;
    int running;

    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 20;
    pthread_mutex_lock(&r->lock);
    while (!r->running && pthread_cond_timedwait(&r->changed, &r->lock, &until) == 0) {
    }
    running = r->running;
    pthread_mutex_unlock(&r->lock);
    return running;
}

static int calls(struct record *r)
{
    int n;
    pthread_mutex_lock(&r->lock);
    n = r->count;
    pthread_mutex_unlock(&r->lock);
    return n;
}

static int threads_now(void)
{
    DIR *dir = opendir("/proc/self/task");
    struct dirent *e;
    int n = 0;

    if (dir == NULL)
        return -1;
    while ((e = readdir(dir)) != NULL)
        if (e->d_name[0] != '.')
            n++;
    closedir(dir);
    return n;
}

static void statuses_come_in_order_with_one_final(kpos_client *client)
{
    kpos_session *session = test_session(client);
    struct record r;
    uint32_t status;

    record_init(&r, session);
    CHECK_CODE(kpos_session_poll(session, &status), KPOS_OK, "poll before watching");
    CHECK_CODE(kpos_session_watch(session, listener, &r), KPOS_OK, "watch");
    CHECK(wait_for(&r, KPOS_STATUS_DISTRIBUTED, 0), "the first call has the current status");
    CHECK(sim_customer(kpos_session_id(session), "scan", "{}") == 200, "customer scans");
    CHECK(wait_for(&r, KPOS_STATUS_ACCESSED, 0), "ACCESSED is reported without a call");
    CHECK(sim_customer(kpos_session_id(session), "approve", "{}") == 200, "customer approves");
    CHECK(wait_for(&r, KPOS_STATUS_COMPLETED, 1), "COMPLETED is reported");
    /* Further reads and a stop add nothing: the final call was the last. */
    CHECK_CODE(kpos_session_poll(session, &status), KPOS_OK, "poll after the final status");
    CHECK_CODE(kpos_session_watch(session, NULL, NULL), KPOS_OK, "end the finished watch");
    CHECK(calls(&r) == 3, "three calls: DISTRIBUTED, ACCESSED, COMPLETED");
    CHECK(r.statuses[0] == KPOS_STATUS_DISTRIBUTED && r.statuses[1] == KPOS_STATUS_ACCESSED &&
              r.statuses[2] == KPOS_STATUS_COMPLETED,
          "in the order they happened");
    CHECK(r.finals == 1, "exactly one final call");
    CHECK(r.other_handle == 0, "every call names the watched session");
    CHECK(kpos_session_order_id(session) != NULL, "the order id is known after the final call");
    kpos_session_free(session);
    record_destroy(&r);
}

/* `how` 0: kpos_session_watch(s, NULL, NULL); 1: kpos_session_free. */
static void no_call_after_the_watch_ends(kpos_client *client, int how)
{
    kpos_session *session = test_session(client);
    char id[128];
    struct record r;
    uint32_t status;
    int before;

    record_init(&r, session);
    snprintf(id, sizeof id, "%s", kpos_session_id(session));
    CHECK_CODE(kpos_session_poll(session, &status), KPOS_OK, "poll before watching");
    r.slow_ms = 300;
    CHECK_CODE(kpos_session_watch(session, listener, &r), KPOS_OK, "watch a slow listener");
    CHECK(wait_running(&r), "the listener's first call is running");
    if (how == 0) {
        CHECK_CODE(kpos_session_watch(session, NULL, NULL), KPOS_OK, "watch(NULL) during a call");
        CHECK(!r.running, "watch(NULL) returned after the running call returned");
    } else {
        kpos_session_free(session);
        CHECK(!r.running, "kpos_session_free returned after the running call returned");
    }
    before = calls(&r);
    CHECK(sim_customer(id, "scan", "{}") == 200, "customer scans after the watch ended");
    if (how == 0) {
        /* A status read merges ACCESSED; a live watch would queue it at once. */
        CHECK_CODE(kpos_session_poll(session, &status), KPOS_OK, "poll after the watch ended");
        CHECK(status == KPOS_STATUS_ACCESSED, "the session moved on");
        CHECK_CODE(kpos_session_watch(session, NULL, NULL), KPOS_OK, "a second stop is harmless");
        kpos_session_free(session);
    }
    CHECK(calls(&r) == before && before == 1, "no call after the watch ended");
    record_destroy(&r);
}

static void cancel_ends_the_watch_after_the_final_call(kpos_client *client)
{
    kpos_session *session = test_session(client);
    struct record r;

    record_init(&r, session);
    CHECK_CODE(kpos_session_watch(session, listener, &r), KPOS_OK, "watch");
    CHECK(wait_for(&r, KPOS_STATUS_DISTRIBUTED, 1), "DISTRIBUTED is reported");
    r.slow_ms = 100;
    CHECK_CODE(kpos_session_cancel(session), KPOS_OK, "cancel from the till's thread");
    CHECK(r.finals == 1 && r.statuses[r.count - 1] == KPOS_STATUS_CANCELED,
          "when cancel returns, the final CANCELED call has been made");
    CHECK(!r.running, "and has returned");
    kpos_session_free(session);
    CHECK(r.finals == 1, "exactly one final call");
    record_destroy(&r);
}

static void the_listener_may_cancel_its_own_session(kpos_client *client)
{
    kpos_session *session = test_session(client);
    struct record r;
    uint32_t status;

    record_init(&r, session);
    r.inside = CANCEL_OWN;
    CHECK_CODE(kpos_session_poll(session, &status), KPOS_OK, "poll before watching");
    CHECK_CODE(kpos_session_watch(session, listener, &r), KPOS_OK, "watch");
    CHECK(wait_for(&r, KPOS_STATUS_CANCELED, 1), "cancel from inside: CANCELED follows");
    CHECK(r.inside_done, "the listener's cancel returned");
    CHECK_CODE(r.inside_rc, KPOS_OK, "the listener's cancel succeeded");
    CHECK(r.status_seen_inside == KPOS_STATUS_DISTRIBUTED && r.qr_seen_inside,
          "the listener read its session");
    CHECK(r.finals == 1 && r.count == 2, "DISTRIBUTED, then CANCELED once");
    kpos_session_free(session);
    record_destroy(&r);
}

static void the_listener_may_end_its_own_watch(kpos_client *client)
{
    kpos_session *session = test_session(client);
    struct record r;
    uint32_t status;

    record_init(&r, session);
    r.inside = UNWATCH_OWN;
    CHECK_CODE(kpos_session_poll(session, &status), KPOS_OK, "poll before watching");
    CHECK_CODE(kpos_session_watch(session, listener, &r), KPOS_OK, "watch");
    CHECK(wait_for(&r, KPOS_STATUS_DISTRIBUTED, 1), "the listener ran and returned");
    CHECK_CODE(r.inside_rc, KPOS_OK, "watch(NULL) from inside the listener");
    CHECK(sim_customer(kpos_session_id(session), "scan", "{}") == 200, "customer scans");
    CHECK_CODE(kpos_session_poll(session, &status), KPOS_OK, "poll reads ACCESSED");
    CHECK_CODE(kpos_session_watch(session, NULL, NULL), KPOS_OK, "stop again from outside");
    CHECK(calls(&r) == 1, "no call after the listener ended its watch");
    kpos_session_free(session);
    record_destroy(&r);
}

static void the_listener_may_free_its_own_session(kpos_client *client)
{
    kpos_session *session = test_session(client);
    struct record r;
    uint32_t status;

    record_init(&r, session);
    r.inside = FREE_OWN;
    CHECK_CODE(kpos_session_poll(session, &status), KPOS_OK, "poll before watching");
    CHECK_CODE(kpos_session_watch(session, listener, &r), KPOS_OK, "watch");
    CHECK(wait_for(&r, KPOS_STATUS_DISTRIBUTED, 1), "the listener freed its session and returned");
    CHECK(r.inside_done, "kpos_session_free returned inside the listener");
    CHECK(kpos_session_status(session) == KPOS_STATUS_UNKNOWN, "the session is freed");
    CHECK_CODE(kpos_session_watch(session, listener, &r), KPOS_E_INVALID_ARGUMENT,
               "a freed session cannot be watched");
    CHECK(calls(&r) == 1, "one call");
    record_destroy(&r);
}

/*
 * fork() while a listener call runs: in the child that call's thread does not exist, so ending
 * the watch must not wait for it, and no listener is ever called in the child.
 */
static void a_forked_childs_watch_is_inert(kpos_client *client)
{
    kpos_session *session = test_session(client);
    struct record r;
    uint32_t status;
    pid_t child;
    int child_status = -1, waited = 0;
    double give_up;

    record_init(&r, session);
    CHECK_CODE(kpos_session_poll(session, &status), KPOS_OK, "poll before watching");
    r.slow_ms = 500;
    CHECK_CODE(kpos_session_watch(session, listener, &r), KPOS_OK, "watch a slow listener");
    CHECK(wait_running(&r), "a listener call is running when the process forks");
    fflush(stdout);
    child = fork();
    if (child == 0) {
        int before = r.count, ok;
        sim_customer(kpos_session_id(session), "scan", "{}");
        ok = kpos_session_poll(session, &status) == KPOS_OK && status == KPOS_STATUS_ACCESSED;
        ok = ok && kpos_session_watch(session, NULL, NULL) == KPOS_OK;
        kpos_session_free(session);
        _exit(ok && r.count == before ? 0 : 1);
    }
    CHECK(child > 0, "fork");
    give_up = now_ms() + 20000;
    while (child > 0 && now_ms() < give_up) {
        if (waitpid(child, &child_status, WNOHANG) == child) {
            waited = 1;
            break;
        }
        sleep_ms(10);
    }
    if (!waited && child > 0) {
        kill(child, SIGKILL);
        waitpid(child, &child_status, 0);
    }
    CHECK(waited, "the child's free did not wait for the parent's listener thread");
    CHECK(waited && WIFEXITED(child_status) && WEXITSTATUS(child_status) == 0,
          "in the child the session moved on and no listener was called");
    CHECK(wait_for(&r, KPOS_STATUS_ACCESSED, 1), "the parent's watch goes on");
    kpos_session_free(session);
    record_destroy(&r);
}

/* 100 sessions at once, one listener for all. */
#define MANY 100

struct many {
    pthread_mutex_t lock;
    pthread_cond_t changed;
    int finals;
    int calls;
    int max_threads;
};

static void count_listener(void *userdata, kpos_session *session, uint32_t status)
{
    struct many *m = userdata;
    int threads = threads_now();
    (void)session;
    pthread_mutex_lock(&m->lock);
    m->calls++;
    if (kpos_status_is_terminal(status))
        m->finals++;
    if (threads > m->max_threads)
        m->max_threads = threads;
    pthread_cond_broadcast(&m->changed);
    pthread_mutex_unlock(&m->lock);
}

static void many_sessions_take_bounded_threads(kpos_client *client, int threads_at_start)
{
    static kpos_session *sessions[MANY];
    struct many m;
    struct timespec until;
    int i, created = 0, approved = 0, during, finals;
    double started;

    memset(&m, 0, sizeof m);
    pthread_mutex_init(&m.lock, NULL);
    pthread_cond_init(&m.changed, NULL);
    for (i = 0; i < MANY; i++)
        if (kpos_session_create(client, VALID_ORDER, &sessions[i]) == KPOS_OK)
            created++;
    CHECK(created == MANY, "100 sessions created");
    started = now_ms();
    for (i = 0; i < created; i++)
        if (kpos_session_watch(sessions[i], count_listener, &m) != KPOS_OK)
            printf("# watch %d: %s\n", i, kpos_last_error_message());
    during = threads_now();
    for (i = 0; i < created; i++)
        if (sim_customer(kpos_session_id(sessions[i]), "approve", "{}") == 200)
            approved++;
    CHECK(approved == MANY, "every customer approves");
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 120;
    pthread_mutex_lock(&m.lock);
    while (m.finals < created && pthread_cond_timedwait(&m.changed, &m.lock, &until) == 0) {
    }
    finals = m.finals;
    pthread_mutex_unlock(&m.lock);
    printf("# %d watched sessions completed in %.0f ms; threads: %d at start, %d while "
           "watching, at most %d seen by the listener\n",
           finals, now_ms() - started, threads_at_start, during, m.max_threads);
    CHECK(finals == MANY, "every watched session reported its final status once");
    CHECK(during <= threads_at_start + 2 && m.max_threads <= threads_at_start + 2,
          "one poller for the client and one listener thread, not a thread per session");
    for (i = 0; i < created; i++)
        kpos_session_free(sessions[i]);
    pthread_mutex_destroy(&m.lock);
    pthread_cond_destroy(&m.changed);
}

int main(void)
{
    int threads_at_start = threads_now();
    kpos_client *client = test_client(NULL);

    CHECK(threads_at_start >= 1, "threads are counted in /proc/self/task");
    statuses_come_in_order_with_one_final(client);
    no_call_after_the_watch_ends(client, 0);
    no_call_after_the_watch_ends(client, 1);
    cancel_ends_the_watch_after_the_final_call(client);
    the_listener_may_cancel_its_own_session(client);
    the_listener_may_end_its_own_watch(client);
    the_listener_may_free_its_own_session(client);
    a_forked_childs_watch_is_inert(client);
    many_sessions_take_bounded_threads(client, threads_at_start);
    CHECK_CODE(kpos_session_watch(NULL, listener, NULL), KPOS_E_INVALID_ARGUMENT,
               "a NULL session cannot be watched");
    kpos_client_free(client);
    return harness_exit();
}
