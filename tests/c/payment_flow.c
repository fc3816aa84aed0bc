/*
 * payment_flow: a whole in-store payment as a till sees it. Create, DISTRIBUTED with a QR code
 * and payment link, the customer scans (ACCESSED) and approves (COMPLETED with the order id),
 * then what a completed payment still allows: waiting returns at once, cancelling is refused,
 * and a resumed session reads the same outcome.
 */

#define _POSIX_C_SOURCE 200809L

#include "harness.h"
#include "sim_control.h"

#define ORDER_ID "ORDER-C-0001"

int main(void)
{
    kpos_client *client = test_client(NULL);
    kpos_session *session = test_session(client);
    kpos_session *resumed = NULL;
    const char *api_url = getenv("KLARNA_API_URL");
    const char *id = kpos_session_id(session);
    const char *qr_url, *link;
    char recorded[65536];
    char id_copy[128];
    uint32_t status = 1234;

    snprintf(id_copy, sizeof id_copy, "%s", id ? id : "");
    CHECK(id != NULL && strlen(id) > 0, "a created session has an id");
    CHECK(kpos_session_result_url(session) != NULL &&
              strncmp(kpos_session_result_url(session), api_url, strlen(api_url)) == 0,
          "the result_url is the absolute URL the simulator returned");
    CHECK(kpos_session_status(session) == KPOS_STATUS_CREATED,
          "a new session is CREATED before any status read");
    CHECK(kpos_session_qr_url(session) == NULL, "no QR code URL before the first status read");
    CHECK(kpos_session_order_id(session) == NULL, "no order id before COMPLETED");
    CHECK_CODE(kpos_session_failure(session), KPOS_OK, "a new session has no failure");

    /* What reached Klarna: the in-store defaults and the till's User-Agent. */
    CHECK(sim_session(id_copy, recorded, sizeof recorded) == 200,
          "the simulator knows the session");
    CHECK_CONTAINS(recorded, "\\\"acquiring_channel\\\":\\\"in_store\\\"",
                   "the request carried acquiring_channel in_store");
    CHECK_CONTAINS(recorded, "\\\"method\\\":\\\"one_qr\\\"",
                   "the request carried distribution.method one_qr");
    CHECK_CONTAINS(recorded, TEST_USER_AGENT, "the User-Agent names the POS");

    CHECK_CODE(kpos_session_poll(session, &status), KPOS_OK, "poll answers");
    CHECK(status == KPOS_STATUS_DISTRIBUTED, "poll reports DISTRIBUTED");
    CHECK(kpos_session_status(session) == KPOS_STATUS_DISTRIBUTED,
          "the status getter remembers DISTRIBUTED");
    qr_url = kpos_session_qr_url(session);
    link = kpos_session_payment_link(session);
    CHECK_CONTAINS(qr_url, id_copy, "the QR code URL is known once DISTRIBUTED");
    CHECK_CONTAINS(link, id_copy, "the payment link is known once DISTRIBUTED");

    CHECK(sim_customer(id_copy, "scan", "{}") == 200, "the customer scans the QR code");
    status = 1234;
    CHECK_CODE(kpos_session_wait(session, 10000, &status), KPOS_OK, "wait sees the scan");
    CHECK(status == KPOS_STATUS_ACCESSED, "wait reports ACCESSED");
    CHECK(kpos_session_order_id(session) == NULL, "still no order id while ACCESSED");

    CHECK(sim_customer(id_copy, "approve", "{\"order_id\":\"" ORDER_ID "\"}") == 200,
          "the customer approves the payment");
    status = 1234;
    CHECK_CODE(kpos_session_wait(session, 10000, &status), KPOS_OK, "wait sees the approval");
    CHECK(status == KPOS_STATUS_COMPLETED, "wait reports COMPLETED");
    CHECK(kpos_status_is_terminal(status) == 1, "COMPLETED is terminal");
    CHECK_STR(kpos_session_order_id(session), ORDER_ID, "the order id is Klarna's");
    CHECK(kpos_session_qr_url(session) == qr_url,
          "the QR code URL pointer stays the same for the session's life");
    CHECK(kpos_session_payment_link(session) == link,
          "the payment link pointer stays the same for the session's life");
    CHECK_CODE(kpos_session_failure(session), KPOS_OK, "a completed session has no failure");

    status = 1234;
    CHECK_CODE(kpos_session_wait(session, 10000, &status), KPOS_OK,
               "wait on a terminal session answers");
    CHECK(status == KPOS_STATUS_COMPLETED, "wait on a terminal session returns COMPLETED");
    CHECK_CODE(kpos_session_cancel(session), KPOS_E_CONFLICT,
               "cancelling a completed payment is refused (refund instead)");
    CHECK(kpos_session_status(session) == KPOS_STATUS_COMPLETED,
          "a refused cancel leaves the session COMPLETED");
    CHECK(sim_session(id_copy, recorded, sizeof recorded) == 200 &&
              strstr(recorded, "\"status\":\"COMPLETED\"") != NULL,
          "the simulator still has the payment COMPLETED");

    /* After a till restart: the id and result_url are enough to learn the outcome. */
    CHECK_CODE(kpos_session_resume(client, id_copy, kpos_session_result_url(session), &resumed),
               KPOS_OK, "resume from id and result_url");
    CHECK_STR(kpos_session_id(resumed), id_copy, "the resumed session has the same id");
    CHECK(kpos_session_status(resumed) == KPOS_STATUS_CREATED,
          "a resumed session knows nothing before its first poll");
    status = 1234;
    CHECK_CODE(kpos_session_poll(resumed, &status), KPOS_OK, "poll of the resumed session");
    CHECK(status == KPOS_STATUS_COMPLETED, "the resumed session is COMPLETED");
    CHECK_STR(kpos_session_order_id(resumed), ORDER_ID, "the resumed session has the order id");

    kpos_session_free(resumed);
    kpos_session_free(session);
    kpos_client_free(client);
    return harness_exit();
}
