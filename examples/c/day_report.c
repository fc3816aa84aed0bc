/*
 * day_report: the Klarna part of a store's cash-up. Reads the history the library keeps in
 * journal_dir (every till sharing the directory) and prints, per currency, how many payments
 * were paid, cancelled, failed, expired or are still open, what was captured and refunded, and
 * the net Klarna takings (paid minus refunded); then every item of the day.
 *
 *   day_report FROM TO
 *     FROM, TO: RFC 3339 date-times with an offset, e.g. 2026-11-30T00:00:00+01:00
 *       (FROM inclusive, TO exclusive)
 *     env: KLARNA_API_URL, KLARNA_USERNAME, KLARNA_PASSWORD, KLARNA_JOURNAL_DIR (required)
 *   stdout:
 *     Klarna cash-up from <FROM> to <TO>
 *     currency outcome             count          amount
 *     SEK      paid                   12         1234.50
 *     ...                              (outcomes with a count, "paid" always)
 *     SEK      net (paid - refunded)             1204.50
 *     items:
 *     <time> <outcome> <amount> <currency> ref=<merchant_reference1> order=<order_id>
 *     unwritten=<n>                    (only when some history lines could not be written)
 *   exit: 0; 1 with error=<KPOS_E_NAME> <message> field=<field> on a failure
 *
 * Build: gcc -std=c99 -Wall -Wextra -Werror -I include examples/c/day_report.c \
 *            -L target/debug -lklarna_pos -o day_report
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "klarna_pos.h"
#include "json_scan.h"

static const char *const OUTCOMES[] = {"paid",     "cancelled", "failed",          "expired",
                                       "open",     "captured",  "refunded",        "order_cancelled",
                                       "released", "refused",   "unanswered"};
#define N_OUTCOMES (sizeof OUTCOMES / sizeof OUTCOMES[0])

static int fail(void) {
    const char *field = kpos_last_error_field();
    printf("error=%s %s field=%s\n", kpos_result_name(kpos_last_error_code()),
           kpos_last_error_message(), field != NULL ? field : "");
    return 1;
}

/* Minor units as a decimal amount (two decimals; none for the zero-decimal currencies). */
static void format_amount(char *buf, size_t size, long long minor, const char *currency) {
    const char *sign = minor < 0 ? "-" : "";
    unsigned long long m = (unsigned long long)(minor < 0 ? -minor : minor);
    if (strcmp(currency, "JPY") == 0 || strcmp(currency, "KRW") == 0 ||
        strcmp(currency, "ISK") == 0 || strcmp(currency, "CLP") == 0)
        snprintf(buf, size, "%s%llu", sign, m);
    else
        snprintf(buf, size, "%s%llu.%02llu", sign, m / 100, m % 100);
}

/* js_get and js_item of a value that may be missing. */
static const char *get(const char *obj, const char *key) { return obj ? js_get(obj, key) : NULL; }
static const char *item_of(const char *arr, int i) { return arr ? js_item(arr, i) : NULL; }

static long long number(const char *v) {
    return (v == NULL || js_is_null(v)) ? 0 : strtoll(js_ws(v), NULL, 10);
}

int main(int argc, char **argv) {
    kpos_client *client = NULL;
    char *report = NULL;
    const char *rows, *items, *row, *item;
    char currency[16], amount[48];
    size_t o;
    int r, i;

    if (argc != 3) {
        fprintf(stderr, "usage: day_report FROM TO (RFC 3339, e.g. 2026-11-30T00:00:00+01:00)\n");
        return 2;
    }
    if (kpos_client_new(NULL, &client) != KPOS_OK) return fail();
    if (kpos_history_report(client, argv[1], argv[2], &report) != KPOS_OK) {
        kpos_client_free(client);
        return fail();
    }
    printf("Klarna cash-up from %s to %s\n", argv[1], argv[2]);
    printf("%-8s %-20s %5s %15s\n", "currency", "outcome", "count", "amount");
    rows = get(report, "currencies");
    for (r = 0; (row = item_of(rows, r)) != NULL; r++) {
        js_str(get(row, "currency"), currency, sizeof currency);
        if (currency[0] == '\0') strcpy(currency, "?");
        for (o = 0; o < N_OUTCOMES; o++) {
            const char *t = get(row, OUTCOMES[o]);
            long long count = number(get(t, "count"));
            if (count == 0 && o != 0) continue;
            format_amount(amount, sizeof amount, number(get(t, "amount")), currency);
            printf("%-8s %-20s %5lld %15s\n", currency, OUTCOMES[o], count, amount);
        }
        format_amount(amount, sizeof amount,
                      number(get(get(row, "paid"), "amount")) -
                          number(get(get(row, "refunded"), "amount")),
                      currency);
        printf("%-8s %-26s %15s\n", currency, "net (paid - refunded)", amount);
    }
    printf("items:\n");
    items = get(report, "items");
    for (i = 0; (item = item_of(items, i)) != NULL; i++) {
        char when[64], outcome[32], reference[256], order[256];
        const char *at = get(item, "finished_at");
        js_str(js_is_null(at) ? get(item, "created_at") : at, when, sizeof when);
        js_str(get(item, "outcome"), outcome, sizeof outcome);
        js_str(get(item, "purchase_currency"), currency, sizeof currency);
        js_str(get(item, "merchant_reference1"), reference, sizeof reference);
        js_str(get(item, "order_id"), order, sizeof order);
        format_amount(amount, sizeof amount, number(get(item, "amount")), currency);
        printf("%s %s %s %s ref=%s order=%s\n", when, outcome, amount,
               currency[0] ? currency : "?", reference, order);
    }
    if (number(get(report, "unwritten")) > 0)
        printf("unwritten=%lld\n", number(get(report, "unwritten")));
    kpos_string_free(report);
    kpos_client_free(client);
    return 0;
}
