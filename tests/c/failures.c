/*
 * failures: how a till learns that a payment cannot happen. Distribution failures map to the
 * in-store guide's three codes through kpos_session_failure; an expired session is EXPIRED;
 * wrong credentials are KPOS_E_PERMISSION_DENIED; an order with a wrong amount is refused
 * before anything is sent; an unknown session is KPOS_E_NOT_FOUND.
 */

#define _POSIX_C_SOURCE 200809L

#include "harness.h"
#include "sim_control.h"

static void distribution_failure_maps_to(kpos_client *client, const char *klarna_code,
                                         kpos_result expected)
{
    kpos_session *session = test_session(client);
    char id[128], body[128], name[256], json_code[128];
    uint32_t status = 1234;

    snprintf(id, sizeof id, "%s", kpos_session_id(session));
    snprintf(body, sizeof body, "{\"code\":\"%s\"}", klarna_code);
    CHECK_CODE(kpos_session_poll(session, &status), KPOS_OK, "poll before the failure");
    snprintf(name, sizeof name, "the simulator fails the distribution with %s", klarna_code);
    CHECK(sim_customer(id, "fail", body) == 200, name);

    status = 1234;
    snprintf(name, sizeof name, "wait reports the %s failure as a status, not an error",
             klarna_code);
    CHECK_CODE(kpos_session_wait(session, 10000, &status), KPOS_OK, name);
    snprintf(name, sizeof name, "a %s distribution is FAILED", klarna_code);
    CHECK(status == KPOS_STATUS_FAILED && kpos_status_is_terminal(status), name);

    snprintf(name, sizeof name, "kpos_session_failure maps %s to %s", klarna_code,
             kpos_result_name(expected));
    CHECK_CODE(kpos_session_failure(session), expected, name);
    snprintf(name, sizeof name, "the last error carries Klarna's code %s", klarna_code);
    snprintf(json_code, sizeof json_code, "\"klarna_error_code\":\"%s\"", klarna_code);
    CHECK_CONTAINS(kpos_last_error_json(), json_code, name);
    snprintf(name, sizeof name, "the last error code is %s", kpos_result_name(expected));
    CHECK(kpos_last_error_code() == expected, name);
    kpos_session_free(session);
}

static void expired_session_is_expired_without_failure(kpos_client *client)
{
    kpos_session *session = test_session(client);
    char id[128];
    uint32_t status = 1234;

    snprintf(id, sizeof id, "%s", kpos_session_id(session));
    CHECK_CODE(kpos_session_poll(session, &status), KPOS_OK, "poll before the expiry");
    CHECK(sim_customer(id, "expire", "{}") == 200, "the simulator expires the session");
    status = 1234;
    CHECK_CODE(kpos_session_wait(session, 10000, &status), KPOS_OK, "wait sees the expiry");
    CHECK(status == KPOS_STATUS_EXPIRED && kpos_status_is_terminal(status),
          "an expired session is EXPIRED, terminal");
    CHECK_CODE(kpos_session_failure(session), KPOS_OK, "an expired session has no failure code");
    CHECK_CODE(kpos_session_cancel(session), KPOS_OK,
               "cancelling an expired session is a no-op success");
    kpos_session_free(session);
}

static void wrong_password_is_permission_denied(void)
{
    kpos_client *client = test_client("not-the-password");
    kpos_session *session = NULL;
    long created_before = sim_stat("sessions_created");
    long requests_before = sim_stat("create_requests");
    const char *correlation_id;

    CHECK_CODE(kpos_session_create(client, VALID_ORDER, &session), KPOS_E_PERMISSION_DENIED,
               "a wrong password gives KPOS_E_PERMISSION_DENIED");
    CHECK(session == NULL, "no session is written on failure");
    CHECK(kpos_last_error_http_status() == 401, "the last error records HTTP 401");
    correlation_id = kpos_last_error_correlation_id();
    CHECK(correlation_id != NULL && strlen(correlation_id) > 0,
          "the last error carries the correlation id of Klarna's answer");
    CHECK(kpos_result_action(KPOS_E_PERMISSION_DENIED) == KPOS_ACTION_CONTACT_SUPPORT,
          "the action for wrong credentials is: contact support, do not retry");
    CHECK(sim_stat("create_requests") == requests_before + 1,
          "the creation was sent exactly once (never retried)");
    CHECK(sim_stat("sessions_created") == created_before, "no session was created");
    kpos_client_free(client);
}

static void invalid_order_is_refused_before_sending(kpos_client *client)
{
    kpos_session *session = NULL;
    long requests_before = sim_stat("create_requests");
    const char *field;

    CHECK_CODE(kpos_session_create(client, ORDER_WITH_WRONG_TAX, &session), KPOS_E_BAD_REQUEST,
               "an order with a wrong tax amount gives KPOS_E_BAD_REQUEST");
    CHECK(session == NULL, "no session is written for a refused order");
    field = kpos_last_error_field();
    CHECK(field != NULL && strcmp(field, "order_lines[0].total_tax_amount") == 0,
          "the last error names the field order_lines[0].total_tax_amount");
    CHECK(kpos_last_error_http_status() == 0, "a local refusal has no HTTP status (0)");
    CHECK_CONTAINS(kpos_last_error_message(), "order_lines[0].total_tax_amount",
                   "the message names the field too");
    CHECK(sim_stat("create_requests") == requests_before, "nothing was sent to Klarna");
}

static void unknown_session_is_not_found(kpos_client *client)
{
    kpos_session *session = NULL;
    char url[512];
    uint32_t status = 1234;

    snprintf(url, sizeof url, "%s/instore/v1/distributions/no-such-session?dt=x",
             getenv("KLARNA_API_URL"));
    CHECK_CODE(kpos_session_resume(client, "no-such-session", url, &session), KPOS_OK,
               "resume accepts a well-formed id and URL without asking Klarna");
    CHECK_CODE(kpos_session_poll(session, &status), KPOS_E_NOT_FOUND,
               "polling an unknown session gives KPOS_E_NOT_FOUND");
    CHECK(status == 1234, "a failed poll does not write the status");
    CHECK(kpos_last_error_http_status() == 404, "the last error records HTTP 404");
    CHECK_CODE(kpos_session_cancel(session), KPOS_E_NOT_FOUND,
               "cancelling an unknown session gives KPOS_E_NOT_FOUND");
    kpos_session_free(session);
}

int main(void)
{
    kpos_client *client = test_client(NULL);

    distribution_failure_maps_to(client, "BAD_REQUEST", KPOS_E_BAD_REQUEST);
    distribution_failure_maps_to(client, "PERMISSION_DENIED", KPOS_E_PERMISSION_DENIED);
    distribution_failure_maps_to(client, "UNKNOWN", KPOS_E_UNKNOWN);
    distribution_failure_maps_to(client, "INTERNAL_ERROR", KPOS_E_UNKNOWN);
    expired_session_is_expired_without_failure(client);
    wrong_password_is_permission_denied();
    invalid_order_is_refused_before_sending(client);
    unknown_session_is_not_found(client);

    kpos_client_free(client);
    return harness_exit();
}
