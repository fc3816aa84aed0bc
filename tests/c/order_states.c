/*
 * order_states: Order Management operations the order's state does not allow, as a till sees
 * them from C. Klarna answers 403 with error_code NOT_ALLOWED to a release of the remaining
 * authorization on an order without captures or on a cancelled order, and with
 * CANCEL_NOT_ALLOWED to a cancel after a capture: each is KPOS_E_CONFLICT ("read the state
 * again"), never KPOS_E_PERMISSION_DENIED ("contact support").
 */

#define _POSIX_C_SOURCE 200809L

#include "harness.h"
#include "sim_control.h"

/* A session paid by the simulated customer, so that Klarna placed the order `order_id`. */
static void paid_order(kpos_client *client, const char *order_id)
{
    kpos_session *session = test_session(client);
    char id[128], body[256];
    uint32_t status = 0;

    snprintf(id, sizeof id, "%s", kpos_session_id(session));
    snprintf(body, sizeof body, "{\"order_id\":\"%s\"}", order_id);
    CHECK(sim_customer(id, "approve", body) == 200, "the customer approves the payment");
    CHECK_CODE(kpos_session_wait(session, 10000, &status), KPOS_OK, "wait sees the approval");
    CHECK(status == KPOS_STATUS_COMPLETED, "the session is COMPLETED");
    kpos_session_free(session);
}

int main(void)
{
    kpos_client *client = test_client(NULL);
    char *capture_id = NULL;

    paid_order(client, "ORDER-STATES-1");
    CHECK_CODE(kpos_order_release_remaining_authorization(client, "ORDER-STATES-1", NULL),
               KPOS_E_CONFLICT, "a release on an order without captures is a conflict");
    CHECK_STR(kpos_last_error_klarna_code(), "NOT_ALLOWED", "Klarna's code is NOT_ALLOWED");
    CHECK(kpos_last_error_http_status() == 403, "Klarna answered 403");
    CHECK_CONTAINS(kpos_last_error_json(), "\"action\":1",
                   "the action is to fix the input (read the state again)");

    CHECK_CODE(kpos_order_capture(client, "ORDER-STATES-1", "{\"captured_amount\":1000}", NULL,
                                  &capture_id),
               KPOS_OK, "a partial capture");
    kpos_string_free(capture_id);
    CHECK_CODE(kpos_order_cancel(client, "ORDER-STATES-1", NULL), KPOS_E_CONFLICT,
               "a cancel after a capture is a conflict");
    CHECK_STR(kpos_last_error_klarna_code(), "CANCEL_NOT_ALLOWED", "Klarna's code names the cancel");
    CHECK_CODE(kpos_order_release_remaining_authorization(client, "ORDER-STATES-1", NULL), KPOS_OK,
               "a release after a capture succeeds");

    paid_order(client, "ORDER-STATES-2");
    CHECK_CODE(kpos_order_cancel(client, "ORDER-STATES-2", NULL), KPOS_OK,
               "an order without captures can be cancelled");
    CHECK_CODE(kpos_order_release_remaining_authorization(client, "ORDER-STATES-2", NULL),
               KPOS_E_CONFLICT, "a release on a cancelled order is a conflict");
    CHECK_STR(kpos_last_error_klarna_code(), "NOT_ALLOWED",
              "Klarna's code is NOT_ALLOWED for a cancelled order too");

    kpos_client_free(client);
    return harness_exit();
}
