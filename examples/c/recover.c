/*
 * recover: run once when the till starts, before taking new payments. Lists the work a killed
 * or powered-off till left open in the journal and finishes it: sessions are resumed and
 * followed until they end; Order Management calls are repeated with their recorded
 * idempotency key, so Klarna applies each of them exactly once.
 *
 *   recover [--wait-ms N]
 *     env: KLARNA_API_URL, KLARNA_USERNAME, KLARNA_PASSWORD, KLARNA_JOURNAL_DIR (required)
 *     --wait-ms: how long to wait for a resumed session to end before cancelling it
 *       (default 120000)
 *   stdout, key=value lines:
 *     pending=<n>
 *     session session_id=<id> status=<STATUS> [order_id=<id>]
 *     session_unanswered created_at=<t> order_amount=<n> merchant_reference1=<ref>
 *         (its create was sent but never answered: it cannot be resumed; check the payment
 *          with Klarna; listed until the session would have expired)
 *     refund order_id=<id> idempotency_key=<key> refund_id=<id>
 *     capture order_id=<id> idempotency_key=<key> capture_id=<id>
 *     cancel|release order_id=<id> idempotency_key=<key> done
 *     error=<KPOS_E_NAME> <message> correlation_id=<id-or-empty>   (per item that failed)
 *     remaining=<n>
 *   exit: 0 when nothing failed; 1 otherwise
 *
 * Build: gcc -std=c99 -Wall -Wextra -Werror -I include examples/c/recover.c \
 *            -L target/debug -lklarna_pos -o recover
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "klarna_pos.h"
#include "json_scan.h"

static int report_error(void) {
    const char *correlation_id = kpos_last_error_correlation_id();
    printf("error=%s %s correlation_id=%s\n", kpos_result_name(kpos_last_error_code()),
           kpos_last_error_message(), correlation_id != NULL ? correlation_id : "");
    return 1;
}

static int count_items(const char *array) {
    int n = 0;
    while (js_item(array, n)) n++;
    return n;
}

/* Resumes a session and follows it until it is terminal (cancelling it after wait_ms). */
static int finish_session(kpos_client *client, const char *record, uint32_t wait_ms) {
    char id[256], url[2048];
    kpos_session *session = NULL;
    uint32_t status = KPOS_STATUS_CREATED;
    int failed = 0;

    js_str(js_get(record, "session_id"), id, sizeof id);
    js_str(js_get(record, "result_url"), url, sizeof url);
    if (kpos_session_resume(client, id, url, &session) != KPOS_OK) return report_error();
    while (!kpos_status_is_terminal(status)) {
        kpos_result rc = kpos_session_wait(session, wait_ms, &status);
        if (rc == KPOS_E_TIMEOUT) {
            /* Nobody is paying any more: cancel, as Klarna recommends. */
            if (kpos_session_cancel(session) != KPOS_OK) failed = report_error();
            status = kpos_session_status(session);
            break;
        }
        if (rc != KPOS_OK) {
            failed = report_error();
            break;
        }
    }
    printf("session session_id=%s status=%s", id, kpos_status_name(status));
    if (kpos_session_order_id(session)) printf(" order_id=%s", kpos_session_order_id(session));
    printf("\n");
    kpos_session_free(session);
    return failed;
}

/* Repeats an Order Management call with its recorded idempotency key. */
static int finish_call(kpos_client *client, const char *record, const char *kind) {
    char order_id[256], key[128];
    char *body = js_raw(js_get(record, "body"));
    char *created = NULL;
    kpos_result rc;

    js_str(js_get(record, "order_id"), order_id, sizeof order_id);
    js_str(js_get(record, "idempotency_key"), key, sizeof key);
    if (strcmp(kind, "refund") == 0)
        rc = kpos_order_refund(client, order_id, body, key, &created);
    else if (strcmp(kind, "capture") == 0)
        rc = kpos_order_capture(client, order_id, body, key, &created);
    else if (strcmp(kind, "cancel") == 0)
        rc = kpos_order_cancel(client, order_id, key);
    else
        rc = kpos_order_release_remaining_authorization(client, order_id, key);
    free(body);
    if (rc != KPOS_OK) return report_error();
    printf("%s order_id=%s idempotency_key=%s", kind, order_id, key);
    if (created)
        printf(" %s_id=%s\n", kind, created);
    else
        printf(" done\n");
    kpos_string_free(created);
    return 0;
}

int main(int argc, char **argv) {
    kpos_client *client = NULL;
    char *pending = NULL, *after = NULL;
    uint32_t wait_ms = 120000;
    int i, failed = 0;
    const char *record;

    if (argc == 3 && strcmp(argv[1], "--wait-ms") == 0) {
        wait_ms = (uint32_t)strtoul(argv[2], NULL, 10);
    } else if (argc != 1) {
        fprintf(stderr, "usage: recover [--wait-ms N]\n");
        return 1;
    }
    if (kpos_client_new(NULL, &client) != KPOS_OK) return report_error();
    if (kpos_journal_pending(client, &pending) != KPOS_OK) {
        failed = report_error();
        goto done;
    }
    printf("pending=%d\n", count_items(pending));
    for (i = 0; (record = js_item(pending, i)) != NULL; i++) {
        char kind[32];
        js_str(js_get(record, "kind"), kind, sizeof kind);
        if (strcmp(kind, "session") != 0) {
            failed |= finish_call(client, record, kind);
        } else if (js_is_null(js_get(record, "session_id"))) {
            char created[64], reference[256], amount[32];
            char *raw = js_raw(js_get(record, "order_amount"));
            snprintf(amount, sizeof amount, "%s", raw ? raw : "");
            free(raw);
            printf("session_unanswered created_at=%s order_amount=%s merchant_reference1=%s\n",
                   js_str(js_get(record, "created_at"), created, sizeof created), amount,
                   js_str(js_get(record, "merchant_reference1"), reference, sizeof reference));
        } else {
            failed |= finish_session(client, record, wait_ms);
        }
    }
    if (kpos_journal_pending(client, &after) != KPOS_OK) {
        failed = report_error();
        goto done;
    }
    printf("remaining=%d\n", count_items(after));
done:
    kpos_string_free(pending);
    kpos_string_free(after);
    kpos_client_free(client);
    return failed ? 1 : 0;
}
