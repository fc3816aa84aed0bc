/*
 * connection_reuse: one client keeps one keep-alive connection for all its work. Twenty
 * sessions created, polled and cancelled one after the other reach the simulator over a single
 * TCP connection (Klarna's rate limits and TLS handshakes make this matter at a busy store).
 */

#define _POSIX_C_SOURCE 200809L

#include "harness.h"
#include "sim_control.h"

#define SESSIONS 20

int main(void)
{
    kpos_client *client = test_client(NULL);
    kpos_session *sessions[SESSIONS];
    int created = 0, distributed = 0, cancelled = 0, distinct = 1;
    int i, j;

    CHECK(sim_stat("connections") == 0, "the simulator has seen no client connection yet");
    for (i = 0; i < SESSIONS; i++) {
        uint32_t status = 1234;
        sessions[i] = NULL;
        if (kpos_session_create(client, VALID_ORDER, &sessions[i]) != KPOS_OK) {
            printf("# session %d: %s\n", i, kpos_last_error_message());
            continue;
        }
        created++;
        if (kpos_session_poll(sessions[i], &status) == KPOS_OK &&
            status == KPOS_STATUS_DISTRIBUTED)
            distributed++;
        if (kpos_session_cancel(sessions[i]) == KPOS_OK &&
            kpos_session_status(sessions[i]) == KPOS_STATUS_CANCELED)
            cancelled++;
    }
    for (i = 0; i < SESSIONS; i++)
        for (j = 0; j < i; j++)
            if (sessions[i] && sessions[j] &&
                strcmp(kpos_session_id(sessions[i]), kpos_session_id(sessions[j])) == 0)
                distinct = 0;

    CHECK(created == SESSIONS, "20 sessions created on one client");
    CHECK(distributed == SESSIONS, "each was polled as DISTRIBUTED");
    CHECK(cancelled == SESSIONS, "each was cancelled");
    CHECK(distinct, "the 20 sessions have distinct ids");
    CHECK(sim_stat("create_requests") == SESSIONS, "20 create requests reached the simulator");
    CHECK(sim_stat("polls") == SESSIONS && sim_stat("deletes") == SESSIONS,
          "20 polls and 20 deletes reached the simulator");
    printf("# connections: %ld, requests: %ld\n", sim_stat("connections"), sim_stat("requests"));
    CHECK(sim_stat("connections") == 1, "all 60 requests used one connection");

    for (i = 0; i < SESSIONS; i++)
        kpos_session_free(sessions[i]);
    kpos_client_free(client);
    return harness_exit();
}
