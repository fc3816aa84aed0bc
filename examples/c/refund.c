/*
 * refund: a return at the till. Looks up a Klarna order, refunds one of its order lines and
 * prints the refund id.
 *
 *   refund ORDER_ID [LINE_INDEX [IDEMPOTENCY_KEY]]
 *     env: KLARNA_API_URL, KLARNA_USERNAME, KLARNA_PASSWORD (and optionally KLARNA_JOURNAL_DIR)
 *     LINE_INDEX: which order line is returned (default 0)
 *     IDEMPOTENCY_KEY: e.g. derived from the return receipt, so that running the same return
 *       again (after a crash or an error) refunds once; without it the library makes one
 *   stdout, key=value lines:
 *     order_status=<AUTHORIZED|PART_CAPTURED|CAPTURED|...>
 *     line=<name> refunded_amount=<minor units>
 *     refund_id=<id>
 *     error=<KPOS_E_NAME> <message> correlation_id=<id-or-empty>   (on failure)
 *   exit: 0 refunded; 1 any error
 *
 * Build: gcc -std=c99 -Wall -Wextra -Werror -I include examples/c/refund.c \
 *            -L target/debug -lklarna_pos -o refund
 */
#include <stdio.h>
#include <stdlib.h>

#include "klarna_pos.h"
#include "json_scan.h"

static int fail(void) {
    const char *correlation_id = kpos_last_error_correlation_id();
    printf("error=%s %s correlation_id=%s\n", kpos_result_name(kpos_last_error_code()),
           kpos_last_error_message(), correlation_id != NULL ? correlation_id : "");
    return 1;
}

int main(int argc, char **argv) {
    kpos_client *client = NULL;
    char *order = NULL, *line = NULL, *body = NULL, *refund_id = NULL;
    const char *lines, *item;
    char status[64], name[256];
    long long amount;
    int index = argc > 2 ? atoi(argv[2]) : 0;
    const char *key = argc > 3 ? argv[3] : NULL; /* NULL: the library makes a UUID */
    int rc = 1;
    size_t size;

    if (argc < 2 || argc > 4) {
        fprintf(stderr, "usage: refund ORDER_ID [LINE_INDEX [IDEMPOTENCY_KEY]]\n");
        return 1;
    }
    if (kpos_client_new(NULL, &client) != KPOS_OK) return fail();
    if (kpos_order_get(client, argv[1], &order) != KPOS_OK) {
        rc = fail();
        goto done;
    }
    printf("order_status=%s\n", js_str(js_get(order, "status"), status, sizeof status));

    lines = js_get(order, "order_lines");
    item = lines ? js_item(lines, index) : NULL;
    if (!item) {
        printf("error=KPOS_E_BAD_REQUEST the order has no line %d correlation_id=\n", index);
        goto done;
    }
    /* Refund the whole line, sent as Klarna has it, so the refund names what came back. */
    line = js_raw(item);
    if (!line || !js_get(item, "total_amount")) goto done;
    amount = strtoll(js_get(item, "total_amount"), NULL, 10);
    size = strlen(line) + 128;
    body = malloc(size);
    if (!body) goto done;
    snprintf(body, size,
             "{\"refunded_amount\":%lld,\"description\":\"Return at the till\",\"order_lines\":[%s]}",
             amount, line);
    printf("line=%s refunded_amount=%lld\n", js_str(js_get(item, "name"), name, sizeof name),
           amount);

    if (kpos_order_refund(client, argv[1], body, key, &refund_id) != KPOS_OK) {
        rc = fail();
        goto done;
    }
    printf("refund_id=%s\n", refund_id);
    rc = 0;
done:
    kpos_string_free(refund_id);
    kpos_string_free(order);
    free(line);
    free(body);
    kpos_client_free(client);
    return rc;
}
