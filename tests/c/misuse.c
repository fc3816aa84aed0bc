/*
 * misuse: every way a till program can call the library wrongly gets an answer, never a crash
 * or a write through a bad pointer. NULL in every pointer position of every function, invalid
 * UTF-8, text that is not JSON, absurdly deep JSON, freed handles, *_free(NULL).
 */

#define _POSIX_C_SOURCE 200809L

#include "harness.h"
#include "sim_control.h"

/* A recognisable pointer value: out-parameters must keep it when a call fails. */
static int marker_storage;
#define CLIENT_MARKER ((kpos_client *)(void *)&marker_storage)
#define SESSION_MARKER ((kpos_session *)(void *)&marker_storage)

/* `depth` nested arrays or objects, e.g. [[[...]]] or {"a":{"a":...}}; the caller frees. */
static char *deep_json(size_t depth, int objects)
{
    const char *open = objects ? "{\"a\":" : "[";
    const char *innermost = objects ? "1" : "";
    size_t open_len = strlen(open);
    char *text = malloc(depth * (open_len + 1) + strlen(innermost) + 1);
    size_t i, at = 0;

    if (text == NULL)
        exit(1);
    for (i = 0; i < depth; i++, at += open_len)
        memcpy(text + at, open, open_len);
    strcpy(text + at, innermost);
    at += strlen(innermost);
    memset(text + at, objects ? '}' : ']', depth);
    text[at + depth] = '\0';
    return text;
}

/* A deep document is refused as unreadable or as a bad order, never overflowing the stack. */
static int refused(kpos_result rc)
{
    return rc == KPOS_E_INVALID_ARGUMENT || rc == KPOS_E_BAD_REQUEST;
}

static void null_arguments(kpos_client *client, kpos_session *session)
{
    kpos_session *out = SESSION_MARKER;
    const char *url = kpos_session_result_url(session);
    uint32_t status = 1234;

    /* kpos_client_new */
    CHECK_CODE(kpos_client_new("{}", NULL), KPOS_E_INVALID_ARGUMENT,
               "kpos_client_new(config, NULL out)");
    CHECK_CONTAINS(kpos_last_error_message(), "out", "the message names the NULL argument");

    /* kpos_session_create */
    CHECK_CODE(kpos_session_create(NULL, VALID_ORDER, &out), KPOS_E_INVALID_ARGUMENT,
               "kpos_session_create(NULL client, ...)");
    CHECK_CODE(kpos_session_create(client, NULL, &out), KPOS_E_INVALID_ARGUMENT,
               "kpos_session_create(..., NULL order, ...)");
    CHECK_CODE(kpos_session_create(client, VALID_ORDER, NULL), KPOS_E_INVALID_ARGUMENT,
               "kpos_session_create(..., NULL out)");
    CHECK(out == SESSION_MARKER, "failed creates leave *out untouched");

    /* kpos_session_resume */
    CHECK_CODE(kpos_session_resume(NULL, "id", url, &out), KPOS_E_INVALID_ARGUMENT,
               "kpos_session_resume(NULL client, ...)");
    CHECK_CODE(kpos_session_resume(client, NULL, url, &out), KPOS_E_INVALID_ARGUMENT,
               "kpos_session_resume(..., NULL session_id, ...)");
    CHECK_CODE(kpos_session_resume(client, "id", NULL, &out), KPOS_E_INVALID_ARGUMENT,
               "kpos_session_resume(..., NULL result_url, ...)");
    CHECK_CODE(kpos_session_resume(client, "id", url, NULL), KPOS_E_INVALID_ARGUMENT,
               "kpos_session_resume(..., NULL out)");
    CHECK(out == SESSION_MARKER, "failed resumes leave *out untouched");

    /* Getters of a NULL session: neutral answers. */
    CHECK(kpos_session_id(NULL) == NULL, "kpos_session_id(NULL) is NULL");
    CHECK(kpos_session_result_url(NULL) == NULL, "kpos_session_result_url(NULL) is NULL");
    CHECK(kpos_session_qr_url(NULL) == NULL, "kpos_session_qr_url(NULL) is NULL");
    CHECK(kpos_session_payment_link(NULL) == NULL, "kpos_session_payment_link(NULL) is NULL");
    CHECK(kpos_session_order_id(NULL) == NULL, "kpos_session_order_id(NULL) is NULL");
    CHECK(kpos_session_status(NULL) == KPOS_STATUS_UNKNOWN,
          "kpos_session_status(NULL) is KPOS_STATUS_UNKNOWN");
    CHECK_CODE(kpos_session_failure(NULL), KPOS_E_INVALID_ARGUMENT, "kpos_session_failure(NULL)");

    /* Session operations */
    CHECK_CODE(kpos_session_poll(NULL, &status), KPOS_E_INVALID_ARGUMENT,
               "kpos_session_poll(NULL session, ...)");
    CHECK_CODE(kpos_session_poll(session, NULL), KPOS_E_INVALID_ARGUMENT,
               "kpos_session_poll(..., NULL status_out)");
    CHECK_CODE(kpos_session_wait(NULL, 10, &status), KPOS_E_INVALID_ARGUMENT,
               "kpos_session_wait(NULL session, ...)");
    CHECK_CODE(kpos_session_wait(session, 10, NULL), KPOS_E_INVALID_ARGUMENT,
               "kpos_session_wait(..., NULL status_out)");
    CHECK(status == 1234, "failed polls and waits leave *status_out untouched");
    CHECK_CODE(kpos_session_cancel(NULL), KPOS_E_INVALID_ARGUMENT, "kpos_session_cancel(NULL)");

    /* Logging: NULL removes the callback; the level is checked. */
    CHECK_CODE(kpos_set_log_callback(NULL, NULL, KPOS_LOG_INFO), KPOS_OK,
               "kpos_set_log_callback(NULL, NULL, level) removes the callback");
    CHECK_CODE(kpos_set_log_callback(NULL, NULL, 0), KPOS_E_INVALID_ARGUMENT,
               "kpos_set_log_callback with level 0");
    CHECK_CODE(kpos_set_log_callback(NULL, NULL, KPOS_LOG_TRACE + 1), KPOS_E_INVALID_ARGUMENT,
               "kpos_set_log_callback with a level above TRACE");

    /* Static lookups with any number. */
    CHECK(kpos_status_name(0xFFFFFFFFu) != NULL && kpos_result_name(0xFFFFFFFFu) != NULL &&
              kpos_result_text(0xFFFFFFFFu) != NULL,
          "name and text lookups never return NULL");
}

static void null_config_needs_the_environment(void)
{
    kpos_client *client = CLIENT_MARKER;
    char *url = strdup(getenv("KLARNA_API_URL"));

    unsetenv("KLARNA_API_URL");
    CHECK_CODE(kpos_client_new(NULL, &client), KPOS_E_INVALID_ARGUMENT,
               "a NULL config without KLARNA_API_URL in the environment");
    CHECK_STR(kpos_last_error_field(), "api_url", "the missing api_url is named");
    CHECK(client == CLIENT_MARKER, "a config refused for the environment leaves *out untouched");
    setenv("KLARNA_API_URL", url, 1);
    free(url);
    CHECK_CODE(kpos_client_new(NULL, &client), KPOS_OK,
               "a NULL config reads KLARNA_API_URL, KLARNA_USERNAME, KLARNA_PASSWORD");
    kpos_client_free(client);
}

static void free_null_is_a_no_op(void)
{
    kpos_session *out = SESSION_MARKER;
    kpos_result before;

    /* Leave a known last error, then check the frees neither fail nor touch it. */
    CHECK_CODE(kpos_session_create(NULL, VALID_ORDER, &out), KPOS_E_INVALID_ARGUMENT,
               "a failing call sets the last error");
    before = kpos_last_error_code();
    kpos_string_free(NULL);
    kpos_client_free(NULL);
    kpos_session_free(NULL);
    CHECK(kpos_last_error_code() == before && before == KPOS_E_INVALID_ARGUMENT,
          "kpos_string_free/kpos_client_free/kpos_session_free(NULL) are silent no-ops");
}

static void unreadable_text(kpos_client *client)
{
    kpos_client *new_client = CLIENT_MARKER;
    kpos_session *out = SESSION_MARKER;
    const char *url = getenv("KLARNA_API_URL");
    char *deep;
    char config[512];

    /* Invalid UTF-8: a lone continuation byte and an overlong encoding. */
    CHECK_CODE(kpos_client_new("{\"api_url\":\"\x80\"}", &new_client), KPOS_E_INVALID_ARGUMENT,
               "a config with invalid UTF-8");
    CHECK_CONTAINS(kpos_last_error_message(), "UTF-8", "the message says UTF-8");
    CHECK_CODE(kpos_session_create(client,
                                   "{\"purchase_country\":\"SE\",\"locale\":\"\xc0\xaf\"}", &out),
               KPOS_E_INVALID_ARGUMENT, "an order with invalid UTF-8");
    CHECK_CODE(kpos_session_resume(client, "id-\xff", "http://127.0.0.1:1/x", &out),
               KPOS_E_INVALID_ARGUMENT, "a session id with invalid UTF-8");

    /* Not JSON, or not an object. */
    CHECK_CODE(kpos_client_new("api_url=https://x", &new_client), KPOS_E_INVALID_ARGUMENT,
               "a config that is not JSON");
    CHECK_CODE(kpos_client_new("[]", &new_client), KPOS_E_INVALID_ARGUMENT,
               "a config that is not an object");
    CHECK_CODE(kpos_session_create(client, "purchase_country=SE", &out),
               KPOS_E_INVALID_ARGUMENT, "an order that is not JSON");
    CHECK_CODE(kpos_session_create(client, "", &out), KPOS_E_INVALID_ARGUMENT,
               "an empty order");
    CHECK_CODE(kpos_session_create(client, "[1,2]", &out), KPOS_E_INVALID_ARGUMENT,
               "an order that is not an object");
    CHECK_CODE(kpos_session_create(client, "{\"purchase_country\":\"SE\"", &out),
               KPOS_E_INVALID_ARGUMENT, "a truncated order");

    /* 100 000 levels of nesting. */
    deep = deep_json(100000, 0);
    CHECK(refused(kpos_session_create(client, deep, &out)), "a 100 000-deep array order");
    CHECK(refused(kpos_client_new(deep, &new_client)), "a 100 000-deep array config");
    free(deep);
    deep = deep_json(100000, 1);
    CHECK(refused(kpos_session_create(client, deep, &out)), "a 100 000-deep object order");
    CHECK(refused(kpos_client_new(deep, &new_client)), "a 100 000-deep object config");
    free(deep);

    /* Configurations that are JSON but wrong name the offending key. */
    CHECK_CODE(kpos_client_new("{\"api_url\":\"https://api.playground.klarna.com\","
                               "\"username\":\"u\",\"pasword\":\"p\"}",
                               &new_client),
               KPOS_E_INVALID_ARGUMENT, "a config with a misspelt key");
    CHECK_STR(kpos_last_error_field(), "pasword", "the misspelt key is named");
    snprintf(config, sizeof config,
             "{\"api_url\":\"%s\",\"username\":\"u\",\"request_timeout_ms\":0}", url);
    CHECK_CODE(kpos_client_new(config, &new_client), KPOS_E_INVALID_ARGUMENT,
               "a config with a zero request timeout");
    CHECK_STR(kpos_last_error_field(), "request_timeout_ms", "the bad timeout is named");
    CHECK_CODE(kpos_client_new("{\"api_url\":\"http://shop.example\",\"username\":\"u\"}",
                               &new_client),
               KPOS_E_INVALID_ARGUMENT, "plain http to a remote host");

    /* Resume with nonsense. */
    CHECK_CODE(kpos_session_resume(client, "", "http://127.0.0.1:1/x", &out),
               KPOS_E_INVALID_ARGUMENT, "resume with an empty session id");
    CHECK_CODE(kpos_session_resume(client, "id", "/instore/v1/distributions/id", &out),
               KPOS_E_INVALID_ARGUMENT, "resume with a relative result_url");
    CHECK(new_client == CLIENT_MARKER && out == SESSION_MARKER,
          "refused calls leave their out-parameters untouched");
}

static void freed_handles(void)
{
    kpos_client *client = test_client(NULL);
    kpos_client *other = test_client(NULL);
    kpos_session *live = test_session(client);
    kpos_session *freed = NULL;
    kpos_session *out = SESSION_MARKER;
    char url[512];
    uint32_t status = 1234;

    snprintf(url, sizeof url, "%s", kpos_session_result_url(live));
    CHECK_CODE(kpos_session_resume(client, kpos_session_id(live), url, &freed), KPOS_OK,
               "resume a second handle to the session");
    kpos_session_free(freed);

    CHECK(kpos_session_id(freed) == NULL, "kpos_session_id of a freed session is NULL");
    CHECK(kpos_session_result_url(freed) == NULL,
          "kpos_session_result_url of a freed session is NULL");
    CHECK(kpos_session_qr_url(freed) == NULL, "kpos_session_qr_url of a freed session is NULL");
    CHECK(kpos_session_order_id(freed) == NULL,
          "kpos_session_order_id of a freed session is NULL");
    CHECK(kpos_session_status(freed) == KPOS_STATUS_UNKNOWN,
          "kpos_session_status of a freed session is UNKNOWN");
    CHECK_CODE(kpos_session_poll(freed, &status), KPOS_E_INVALID_ARGUMENT,
               "kpos_session_poll of a freed session");
    CHECK_CONTAINS(kpos_last_error_message(), "freed", "the message says the handle was freed");
    CHECK_CODE(kpos_session_wait(freed, 10, &status), KPOS_E_INVALID_ARGUMENT,
               "kpos_session_wait of a freed session");
    CHECK_CODE(kpos_session_cancel(freed), KPOS_E_INVALID_ARGUMENT,
               "kpos_session_cancel of a freed session");
    CHECK_CODE(kpos_session_failure(freed), KPOS_E_INVALID_ARGUMENT,
               "kpos_session_failure of a freed session");
    kpos_session_free(freed);
    CHECK(kpos_last_error_code() == KPOS_E_INVALID_ARGUMENT,
          "freeing a session twice is a silent no-op");

    /* A freed client refuses new work; its sessions live on. */
    kpos_client_free(client);
    CHECK_CODE(kpos_session_create(client, VALID_ORDER, &out), KPOS_E_INVALID_ARGUMENT,
               "kpos_session_create with a freed client");
    CHECK_CODE(kpos_session_resume(client, "id", url, &out), KPOS_E_INVALID_ARGUMENT,
               "kpos_session_resume with a freed client");
    kpos_client_free(client);
    status = 1234;
    CHECK_CODE(kpos_session_poll(live, &status), KPOS_OK,
               "a session still works after its client was freed");
    CHECK(status == KPOS_STATUS_DISTRIBUTED, "the orphaned session reads DISTRIBUTED");
    CHECK_CODE(kpos_session_cancel(live), KPOS_OK, "the orphaned session can be cancelled");
    CHECK(out == SESSION_MARKER, "calls with freed handles leave *out untouched");

    /* A session must not be confused with a client. */
    CHECK_CODE(kpos_session_create((kpos_client *)(void *)live, VALID_ORDER, &out),
               KPOS_E_INVALID_ARGUMENT, "a session handle passed as a client is refused");
    CHECK_CODE(kpos_session_poll((kpos_session *)(void *)other, &status),
               KPOS_E_INVALID_ARGUMENT, "a client handle passed as a session is refused");

    kpos_session_free(live);
    kpos_client_free(other);
}

int main(void)
{
    kpos_client *client = test_client(NULL);
    kpos_session *session = test_session(client);

    null_arguments(client, session);
    null_config_needs_the_environment();
    free_null_is_a_no_op();
    unreadable_text(client);
    freed_handles();

    kpos_session_free(session);
    kpos_client_free(client);
    return harness_exit();
}
