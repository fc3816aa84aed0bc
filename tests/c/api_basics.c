/*
 * api_basics: the static parts of the ABI a till relies on without a network. Every result
 * code's name, text and action (and a safe answer for unknown numbers), status names and
 * terminality, the version macros against kpos_version(), and the thread-local last error with
 * all of its JSON fields.
 */

#define _POSIX_C_SOURCE 200809L

#include <pthread.h>

#include "harness.h"
#include "sim_control.h"

struct code_row {
    kpos_result code;
    const char *name;
    uint32_t action;
};

/* The table of c-api.md: every code with its action. */
static const struct code_row CODES[] = {
    {KPOS_OK, "KPOS_OK", KPOS_ACTION_NONE},
    {KPOS_E_INVALID_ARGUMENT, "KPOS_E_INVALID_ARGUMENT", KPOS_ACTION_FIX_CALLER},
    {KPOS_E_BAD_REQUEST, "KPOS_E_BAD_REQUEST", KPOS_ACTION_FIX_INPUT},
    {KPOS_E_PERMISSION_DENIED, "KPOS_E_PERMISSION_DENIED", KPOS_ACTION_CONTACT_SUPPORT},
    {KPOS_E_UNKNOWN, "KPOS_E_UNKNOWN", KPOS_ACTION_CONTACT_SUPPORT},
    {KPOS_E_NOT_FOUND, "KPOS_E_NOT_FOUND", KPOS_ACTION_FIX_INPUT},
    {KPOS_E_CONFLICT, "KPOS_E_CONFLICT", KPOS_ACTION_FIX_INPUT},
    {KPOS_E_RATE_LIMITED, "KPOS_E_RATE_LIMITED", KPOS_ACTION_RETRY},
    {KPOS_E_TIMEOUT, "KPOS_E_TIMEOUT", KPOS_ACTION_RETRY},
    {KPOS_E_NETWORK, "KPOS_E_NETWORK", KPOS_ACTION_RETRY},
    {KPOS_E_TLS, "KPOS_E_TLS", KPOS_ACTION_CONTACT_SUPPORT},
    {KPOS_E_PROTOCOL, "KPOS_E_PROTOCOL", KPOS_ACTION_CONTACT_SUPPORT},
    {KPOS_E_CANCELLED, "KPOS_E_CANCELLED", KPOS_ACTION_NONE},
    {KPOS_E_INTERNAL, "KPOS_E_INTERNAL", KPOS_ACTION_FIX_CALLER},
};
#define CODE_COUNT (sizeof CODES / sizeof CODES[0])

struct status_row {
    uint32_t status;
    const char *name;
    int terminal;
};

static const struct status_row STATUSES[] = {
    {KPOS_STATUS_CREATED, "CREATED", 0},     {KPOS_STATUS_WAITING, "WAITING", 0},
    {KPOS_STATUS_DISTRIBUTED, "DISTRIBUTED", 0}, {KPOS_STATUS_ACCESSED, "ACCESSED", 0},
    {KPOS_STATUS_COMPLETED, "COMPLETED", 1}, {KPOS_STATUS_CANCELED, "CANCELED", 1},
    {KPOS_STATUS_FAILED, "FAILED", 1},       {KPOS_STATUS_EXPIRED, "EXPIRED", 1},
    {KPOS_STATUS_UNKNOWN, "UNKNOWN", 0},
};
#define STATUS_COUNT (sizeof STATUSES / sizeof STATUSES[0])

/* Numbers no code has: gaps between the ranges, and the extremes. */
static const uint32_t UNKNOWN_CODES[] = {2, 9, 16, 29, 34, 49, 51, 89, 91, 1000, 0xFFFFFFFFu};
#define UNKNOWN_CODE_COUNT (sizeof UNKNOWN_CODES / sizeof UNKNOWN_CODES[0])

static void result_codes(void)
{
    const char *unknown_text = kpos_result_text(0xFFFFFFFFu);
    char name[256];
    size_t i, j;
    int texts_distinct = 1;

    for (i = 0; i < CODE_COUNT; i++) {
        const char *text = kpos_result_text(CODES[i].code);
        snprintf(name, sizeof name, "kpos_result_name(%u) is %s", CODES[i].code, CODES[i].name);
        CHECK_STR(kpos_result_name(CODES[i].code), CODES[i].name, name);
        snprintf(name, sizeof name, "%s has its own English sentence", CODES[i].name);
        CHECK(text != NULL && strlen(text) > 5 && text[strlen(text) - 1] == '.' &&
                  strcmp(text, unknown_text) != 0,
              name);
        snprintf(name, sizeof name, "the action for %s is %u", CODES[i].name, CODES[i].action);
        CHECK(kpos_result_action(CODES[i].code) == CODES[i].action, name);
        for (j = 0; j < i; j++)
            if (strcmp(text, kpos_result_text(CODES[j].code)) == 0)
                texts_distinct = 0;
    }
    CHECK(texts_distinct, "no two codes share a text");

    for (i = 0; i < UNKNOWN_CODE_COUNT; i++) {
        uint32_t n = UNKNOWN_CODES[i];
        snprintf(name, sizeof name, "unknown code %u is KPOS_E_UNRECOGNIZED", n);
        CHECK_STR(kpos_result_name(n), "KPOS_E_UNRECOGNIZED", name);
        snprintf(name, sizeof name, "unknown code %u has the generic text", n);
        CHECK_STR(kpos_result_text(n), unknown_text, name);
        snprintf(name, sizeof name, "unknown code %u: contact support", n);
        CHECK(kpos_result_action(n) == KPOS_ACTION_CONTACT_SUPPORT, name);
    }
    CHECK(unknown_text != NULL && strlen(unknown_text) > 0, "the generic text is a sentence");
}

static void statuses(void)
{
    const uint32_t unknown[] = {8, 98, 100, 0xFFFFFFFFu};
    char name[128];
    size_t i;

    for (i = 0; i < STATUS_COUNT; i++) {
        snprintf(name, sizeof name, "kpos_status_name(%u) is %s", STATUSES[i].status,
                 STATUSES[i].name);
        CHECK_STR(kpos_status_name(STATUSES[i].status), STATUSES[i].name, name);
        snprintf(name, sizeof name, "%s is %sterminal", STATUSES[i].name,
                 STATUSES[i].terminal ? "" : "not ");
        CHECK(kpos_status_is_terminal(STATUSES[i].status) == STATUSES[i].terminal, name);
    }
    for (i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
        snprintf(name, sizeof name, "status number %u is named UNKNOWN, not terminal",
                 unknown[i]);
        CHECK(strcmp(kpos_status_name(unknown[i]), "UNKNOWN") == 0 &&
                  kpos_status_is_terminal(unknown[i]) == 0,
              name);
    }
}

static void version(void)
{
    char composed[64];

    snprintf(composed, sizeof composed, "%d.%d.%d", KPOS_VERSION_MAJOR, KPOS_VERSION_MINOR,
             KPOS_VERSION_PATCH);
    CHECK_STR(kpos_version(), composed, "kpos_version() equals the header's MAJOR.MINOR.PATCH");
    CHECK_STR(kpos_version(), KPOS_VERSION, "kpos_version() equals KPOS_VERSION");
    CHECK(KPOS_VERSION_NUMBER ==
              KPOS_VERSION_MAJOR * 10000 + KPOS_VERSION_MINOR * 100 + KPOS_VERSION_PATCH,
          "KPOS_VERSION_NUMBER composes the three parts");
    CHECK(kpos_version() == kpos_version(), "kpos_version() is one static string");
}

/* What a thread that never failed sees; run on a fresh thread. */
static void *fresh_thread_last_error(void *arg)
{
    int *clean = arg;
    *clean = kpos_last_error_code() == KPOS_OK && strcmp(kpos_last_error_message(), "") == 0 &&
             strcmp(kpos_last_error_json(), "{}") == 0 && kpos_last_error_field() == NULL &&
             kpos_last_error_http_status() == 0;
    return NULL;
}

static int fresh_thread_is_clean(void)
{
    pthread_t thread;
    int clean = 0;

    if (pthread_create(&thread, NULL, fresh_thread_last_error, &clean) != 0)
        return 0;
    pthread_join(thread, NULL);
    return clean;
}

static void last_error(void)
{
    kpos_client *client;
    kpos_client *wrong = test_client("not-the-password");
    kpos_session *session = NULL;
    const char *json;
    char text[256];

    CHECK(kpos_last_error_code() == KPOS_OK, "before any failure the last error code is KPOS_OK");
    CHECK_STR(kpos_last_error_message(), "", "before any failure the message is empty");
    CHECK_STR(kpos_last_error_json(), "{}", "before any failure the JSON is {}");
    CHECK(kpos_last_error_field() == NULL && kpos_last_error_klarna_code() == NULL &&
              kpos_last_error_correlation_id() == NULL && kpos_last_error_http_status() == 0,
          "before any failure the getters give NULL and 0");

    client = test_client(NULL);
    CHECK_CODE(kpos_session_create(client, ORDER_WITH_WRONG_TAX, &session), KPOS_E_BAD_REQUEST,
               "a refused order fails");
    json = kpos_last_error_json();
    printf("# %s\n", json);
    CHECK(sim_json_int(json, "code") == KPOS_E_BAD_REQUEST, "JSON code is 10");
    CHECK(sim_json_str(json, "name", text, sizeof text) &&
              strcmp(text, "KPOS_E_BAD_REQUEST") == 0,
          "JSON name is KPOS_E_BAD_REQUEST");
    CHECK(sim_json_int(json, "action") == KPOS_ACTION_FIX_INPUT, "JSON action is FIX_INPUT");
    CHECK(sim_json_str(json, "message", text, sizeof text) &&
              strstr(text, "order_lines[0].total_tax_amount") != NULL,
          "JSON message names the field");
    CHECK(sim_json_str(json, "field", text, sizeof text) &&
              strcmp(text, "order_lines[0].total_tax_amount") == 0,
          "JSON field is the path of the offending field");
    CHECK_CONTAINS(json, "\"http_status\":null", "a local refusal has no HTTP status");
    CHECK_CONTAINS(json, "\"correlation_id\":null", "a local refusal has no correlation id");
    CHECK_CONTAINS(json, "\"klarna_error_code\":null", "a local refusal has no Klarna code");
    CHECK_CONTAINS(json, "\"error_messages\":[", "JSON error_messages is a list");
    CHECK(kpos_last_error_field() != NULL &&
              strcmp(kpos_last_error_field(), "order_lines[0].total_tax_amount") == 0,
          "kpos_last_error_field is the JSON's field");
    CHECK(kpos_last_error_http_status() == 0 && kpos_last_error_correlation_id() == NULL &&
              kpos_last_error_klarna_code() == NULL,
          "a local refusal: no HTTP status (0), correlation id or Klarna code (NULL)");
    CHECK(strncmp(kpos_last_error_message(), "KPOS_E_BAD_REQUEST", 18) == 0,
          "the message starts with the code's name");
    CHECK(kpos_last_error_code() == KPOS_E_BAD_REQUEST, "kpos_last_error_code agrees");

    CHECK(fresh_thread_is_clean(), "another thread does not see this thread's last error");

    /* Like errno, a success does not reset the last error. */
    CHECK_CODE(kpos_set_log_callback(NULL, NULL, KPOS_LOG_ERROR), KPOS_OK, "a call succeeds");
    CHECK(kpos_last_error_code() == KPOS_E_BAD_REQUEST, "success leaves the last error in place");

    CHECK_CODE(kpos_session_create(wrong, VALID_ORDER, &session), KPOS_E_PERMISSION_DENIED,
               "wrong credentials fail");
    json = kpos_last_error_json();
    printf("# %s\n", json);
    CHECK(sim_json_int(json, "code") == KPOS_E_PERMISSION_DENIED, "JSON code is 11");
    CHECK(sim_json_int(json, "http_status") == 401, "JSON http_status is 401");
    CHECK(sim_json_str(json, "correlation_id", text, sizeof text) && strlen(text) > 0,
          "JSON correlation_id is Klarna's");
    CHECK_CONTAINS(kpos_last_error_message(), text, "the message quotes the correlation id");
    CHECK(kpos_last_error_http_status() == 401, "kpos_last_error_http_status is 401");
    CHECK(kpos_last_error_correlation_id() != NULL &&
              strcmp(kpos_last_error_correlation_id(), text) == 0,
          "kpos_last_error_correlation_id is the JSON's correlation_id");
    CHECK(kpos_last_error_field() == NULL, "an HTTP refusal: kpos_last_error_field is NULL");
    CHECK_CONTAINS(json, "\"field\":null", "an HTTP refusal names no field");
    CHECK(session == NULL, "no session was written");

    /* A refused argument is named as the field, whichever argument check refused it. */
    CHECK_CODE(kpos_session_create(client, NULL, &session), KPOS_E_INVALID_ARGUMENT,
               "a NULL order is refused");
    CHECK(kpos_last_error_field() != NULL && strcmp(kpos_last_error_field(), "order_json") == 0,
          "a NULL order names the field order_json");
    CHECK_CODE(kpos_session_create(client, "{\"purchase_country\":\"\xff\"}", &session),
               KPOS_E_INVALID_ARGUMENT, "an order that is not UTF-8 is refused");
    CHECK(kpos_last_error_field() != NULL && strcmp(kpos_last_error_field(), "order_json") == 0,
          "an order that is not UTF-8 names the field order_json");
    CHECK_CODE(kpos_session_create(client, VALID_ORDER, NULL), KPOS_E_INVALID_ARGUMENT,
               "a NULL out-pointer is refused");
    CHECK(kpos_last_error_field() != NULL && strcmp(kpos_last_error_field(), "out") == 0,
          "a NULL out-pointer names its argument");

    kpos_client_free(wrong);
    kpos_client_free(client);
}

int main(void)
{
    last_error(); /* first: it checks the state before any failure */
    result_codes();
    statuses();
    version();
    return harness_exit();
}
