/*
 * harness.h: what every C test program shares: `ok - NAME` / `not ok - NAME` reporting, a
 * monotonic clock, a valid order, and a client for the simulator named by KLARNA_API_URL.
 *
 * Define _POSIX_C_SOURCE (200809L) before including any system header.
 */

#ifndef HARNESS_H
#define HARNESS_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "klarna_pos.h"

static int harness_failures = 0;

/* Reports one check; the program exits non-zero at the end if any failed. */
static inline int check_at(int passed, const char *name, const char *file, int line)
{
    if (passed) {
        printf("ok - %s\n", name);
    } else {
        printf("not ok - %s (%s:%d)\n", name, file, line);
        harness_failures++;
    }
    fflush(stdout);
    return passed;
}
#define CHECK(cond, name) check_at((cond) ? 1 : 0, (name), __FILE__, __LINE__)

/* Checks a result code, showing both names and the last error when they differ. */
static inline int check_code_at(kpos_result got, kpos_result want, const char *name,
                                const char *file, int line)
{
    if (got != want)
        printf("# %s: got %s (%u), want %s (%u); last error: %s\n", name, kpos_result_name(got),
               got, kpos_result_name(want), want, kpos_last_error_message());
    return check_at(got == want, name, file, line);
}
#define CHECK_CODE(got, want, name) check_code_at((got), (want), (name), __FILE__, __LINE__)

/* Checks two strings for equality (NULL equals only NULL), showing both when they differ. */
static inline int check_str_at(const char *got, const char *want, const char *name,
                               const char *file, int line)
{
    int same = (got == NULL || want == NULL) ? got == want : strcmp(got, want) == 0;
    if (!same)
        printf("# %s: got \"%s\", want \"%s\"\n", name, got ? got : "(NULL)",
               want ? want : "(NULL)");
    return check_at(same, name, file, line);
}
#define CHECK_STR(got, want, name) check_str_at((got), (want), (name), __FILE__, __LINE__)

/* Checks that `text` contains `part`, showing `text` when it does not. */
static inline int check_contains_at(const char *text, const char *part, const char *name,
                                    const char *file, int line)
{
    int found = text != NULL && strstr(text, part) != NULL;
    if (!found)
        printf("# %s: \"%s\" not found in: %s\n", name, part, text ? text : "(NULL)");
    return check_at(found, name, file, line);
}
#define CHECK_CONTAINS(text, part, name) \
    check_contains_at((text), (part), (name), __FILE__, __LINE__)

/* The exit status of a test program: 0 when every check passed. */
static inline int harness_exit(void)
{
    if (harness_failures > 0)
        printf("# %d check(s) failed\n", harness_failures);
    fflush(stdout);
    return harness_failures == 0 ? 0 : 1;
}

/* Milliseconds on a monotonic clock. */
static inline double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

/* A valid Swedish order: 2 x 45.00 SEK at 12 % VAT. */
static const char *const VALID_ORDER =
    "{\"purchase_country\":\"SE\",\"purchase_currency\":\"SEK\",\"locale\":\"sv-SE\","
    "\"order_amount\":9000,\"order_tax_amount\":964,"
    "\"order_lines\":[{\"type\":\"physical\",\"reference\":\"CAF-CAP-L\","
    "\"name\":\"Cappuccino, stor\",\"quantity\":2,\"unit_price\":4500,\"tax_rate\":1200,"
    "\"total_amount\":9000,\"total_tax_amount\":964}],"
    "\"merchant_reference1\":\"K042-1-000731\",\"merchant_reference2\":\"042-till-1\"}";

/* The same order with a wrong tax amount on its line (964 is right, 900 is not). */
static const char *const ORDER_WITH_WRONG_TAX =
    "{\"purchase_country\":\"SE\",\"purchase_currency\":\"SEK\",\"locale\":\"sv-SE\","
    "\"order_amount\":9000,\"order_tax_amount\":900,"
    "\"order_lines\":[{\"type\":\"physical\",\"reference\":\"CAF-CAP-L\","
    "\"name\":\"Cappuccino, stor\",\"quantity\":2,\"unit_price\":4500,\"tax_rate\":1200,"
    "\"total_amount\":9000,\"total_tax_amount\":900}]}";

#define TEST_USER_AGENT "klarna-pos-ctest/1.0"

/*
 * A client for the simulator in KLARNA_API_URL with the user name from KLARNA_USERNAME and the
 * given password (NULL: KLARNA_PASSWORD). Polls every 100 ms so that tests are quick. Exits the
 * program when the client cannot be created: nothing else could be tested.
 */
static inline kpos_client *test_client(const char *password)
{
    char config[1024];
    kpos_client *client = NULL;
    const char *url = getenv("KLARNA_API_URL");
    const char *user = getenv("KLARNA_USERNAME");
    kpos_result rc;

    if (password == NULL)
        password = getenv("KLARNA_PASSWORD");
    if (url == NULL || user == NULL || password == NULL) {
        printf("not ok - KLARNA_API_URL, KLARNA_USERNAME and KLARNA_PASSWORD are set\n");
        exit(1);
    }
    snprintf(config, sizeof config,
             "{\"api_url\":\"%s\",\"username\":\"%s\",\"password\":\"%s\","
             "\"user_agent\":\"%s\",\"poll_interval_ms\":100}",
             url, user, password, TEST_USER_AGENT);
    rc = kpos_client_new(config, &client);
    if (rc != KPOS_OK) {
        printf("not ok - client for %s: %s\n", url, kpos_last_error_message());
        exit(1);
    }
    return client;
}

/* Creates a session for VALID_ORDER; exits the program when that fails. */
static inline kpos_session *test_session(kpos_client *client)
{
    kpos_session *session = NULL;
    kpos_result rc = kpos_session_create(client, VALID_ORDER, &session);
    if (rc != KPOS_OK) {
        printf("not ok - create a session: %s\n", kpos_last_error_message());
        exit(1);
    }
    return session;
}

#endif /* HARNESS_H */
