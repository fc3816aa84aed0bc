/*
 * cancel_wait: the bounds of kpos_session_wait. It gives up with KPOS_E_TIMEOUT after its
 * timeout (still writing the status), is released with KPOS_E_CANCELLED when another thread
 * cancels the session, and returns a customer's own cancellation as CANCELED.
 */

#define _POSIX_C_SOURCE 200809L

#include <pthread.h>

#include "harness.h"
#include "sim_control.h"

/* What the cancelling thread did and when. */
struct canceller {
    kpos_session *session;
    char session_id[128];
    long polls_before_wait;
    int saw_wait_polling;
    double called_at;
    double returned_at;
    kpos_result rc;
};

/*
 * Waits (bounded) until the simulator has received a status request from the main thread's
 * kpos_session_wait, so the cancel lands while the wait is blocked, then cancels.
 */
static void *cancel_while_waiting(void *arg)
{
    struct canceller *c = arg;
    const double give_up = now_ms() + 10000;
    const struct timespec pause = {0, 5 * 1000 * 1000};
    char view[65536];

    while (now_ms() < give_up) {
        if (sim_session(c->session_id, view, sizeof view) == 200 &&
            sim_json_int(view, "polls") > c->polls_before_wait) {
            c->saw_wait_polling = 1;
            break;
        }
        nanosleep(&pause, NULL);
    }
    c->called_at = now_ms();
    c->rc = kpos_session_cancel(c->session);
    c->returned_at = now_ms();
    return NULL;
}

static void wait_times_out_with_the_status_written(kpos_client *client)
{
    kpos_session *session = test_session(client);
    uint32_t status = 1234;
    double started, elapsed;

    CHECK_CODE(kpos_session_poll(session, &status), KPOS_OK, "poll before waiting");
    status = 1234;
    started = now_ms();
    CHECK_CODE(kpos_session_wait(session, 300, &status), KPOS_E_TIMEOUT,
               "wait without a change ends with KPOS_E_TIMEOUT");
    elapsed = now_ms() - started;
    printf("# wait(300 ms) returned after %.0f ms\n", elapsed);
    CHECK(status == KPOS_STATUS_DISTRIBUTED,
          "a timed-out wait still writes the last known status (DISTRIBUTED)");
    CHECK(elapsed >= 295, "the wait does not give up before its timeout");
    CHECK(kpos_last_error_code() == KPOS_E_TIMEOUT, "the last error is the timeout");
    CHECK(kpos_session_status(session) == KPOS_STATUS_DISTRIBUTED,
          "a timeout does not change the session");
    kpos_session_free(session);
}

static void cancel_from_another_thread_releases_wait(kpos_client *client)
{
    kpos_session *session = test_session(client);
    struct canceller c;
    pthread_t thread;
    char view[65536];
    uint32_t status = 1234;
    kpos_result rc;
    double released_at;

    memset(&c, 0, sizeof c);
    c.session = session;
    snprintf(c.session_id, sizeof c.session_id, "%s", kpos_session_id(session));
    CHECK_CODE(kpos_session_poll(session, &status), KPOS_OK, "poll before waiting");
    CHECK(sim_session(c.session_id, view, sizeof view) == 200, "the simulator knows the session");
    c.polls_before_wait = sim_json_int(view, "polls");

    if (pthread_create(&thread, NULL, cancel_while_waiting, &c) != 0) {
        CHECK(0, "start the cancelling thread");
        return;
    }
    status = 1234;
    rc = kpos_session_wait(session, 10000, &status);
    released_at = now_ms();
    pthread_join(thread, NULL);

    CHECK(c.saw_wait_polling, "the wait was polling when the cancel came");
    CHECK_CODE(c.rc, KPOS_OK, "kpos_session_cancel from another thread succeeds");
    CHECK_CODE(rc, KPOS_E_CANCELLED, "the blocked wait returns KPOS_E_CANCELLED");
    CHECK(kpos_session_status(session) == KPOS_STATUS_CANCELED, "the session is CANCELED");
    printf("# release time: the wait returned %.1f ms after kpos_session_cancel was called "
           "(the cancel itself took %.1f ms)\n",
           released_at - c.called_at, c.returned_at - c.called_at);
    CHECK(sim_session(c.session_id, view, sizeof view) == 200 &&
              strstr(view, "\"status\":\"CANCELED\"") != NULL,
          "Klarna (the simulator) has the session CANCELED");
    CHECK(sim_json_int(view, "deletes") == 1, "exactly one DELETE reached Klarna");

    CHECK_CODE(kpos_session_cancel(session), KPOS_OK, "cancelling again is a no-op success");
    CHECK(sim_session(c.session_id, view, sizeof view) == 200 &&
              sim_json_int(view, "deletes") == 1,
          "cancelling a CANCELED session sends nothing");
    status = 1234;
    CHECK_CODE(kpos_session_wait(session, 10000, &status), KPOS_OK,
               "a later wait on the cancelled session answers");
    CHECK(status == KPOS_STATUS_CANCELED, "a later wait on the cancelled session is CANCELED");
    kpos_session_free(session);
}

static void customer_cancel_is_a_status_not_an_error(kpos_client *client)
{
    kpos_session *session = test_session(client);
    char id[128];
    uint32_t status = 1234;

    snprintf(id, sizeof id, "%s", kpos_session_id(session));
    CHECK_CODE(kpos_session_poll(session, &status), KPOS_OK, "poll before the customer cancels");
    CHECK(sim_customer(id, "cancel", "{}") == 200, "the customer cancels on the phone");
    status = 1234;
    CHECK_CODE(kpos_session_wait(session, 10000, &status), KPOS_OK,
               "wait reports the customer's cancellation without an error");
    CHECK(status == KPOS_STATUS_CANCELED, "the customer's cancellation is CANCELED");
    kpos_session_free(session);
}

int main(void)
{
    kpos_client *client = test_client(NULL);

    wait_times_out_with_the_status_written(client);
    cancel_from_another_thread_releases_wait(client);
    customer_cancel_is_a_status_not_an_error(client);

    kpos_client_free(client);
    return harness_exit();
}
