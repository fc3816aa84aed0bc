/*
 * bench.h: what the benchmark programs share: a monotonic clock, medians, the resident set
 * size, and the orders both sides send.
 *
 * Define _GNU_SOURCE (or _POSIX_C_SOURCE 200809L) before including any system header.
 */

#ifndef BENCH_H
#define BENCH_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Microseconds on a monotonic clock. */
static inline double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The median of n samples (sorts them in place). */
static inline double median(double *v, size_t n)
{
    if (n == 0)
        return 0.0;
    qsort(v, n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2.0;
}

/* The p-th percentile (0..100) of n sorted samples. */
static inline double percentile(const double *sorted, size_t n, double p)
{
    size_t i = (size_t)((double)(n - 1) * p / 100.0);
    return n == 0 ? 0.0 : sorted[i];
}

/* Resident set size of this process in KiB, from /proc/self/statm. */
static inline long rss_kib(void)
{
    long pages_total = 0, pages_resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f == NULL)
        return -1;
    if (fscanf(f, "%ld %ld", &pages_total, &pages_resident) != 2)
        pages_resident = -1;
    fclose(f);
    return pages_resident < 0 ? -1 : pages_resident * 4;
}

/*
 * The till's order, as a till hands it to the library: 2 x 45.00 SEK at 12 % VAT. The library
 * adds "acquiring_channel" and "distribution" itself.
 */
static const char *const ORDER_JSON =
    "{\"purchase_country\":\"SE\",\"purchase_currency\":\"SEK\",\"locale\":\"sv-SE\","
    "\"order_amount\":9000,\"order_tax_amount\":964,"
    "\"order_lines\":[{\"type\":\"physical\",\"reference\":\"CAF-CAP-L\","
    "\"name\":\"Cappuccino, stor\",\"quantity\":2,\"unit_price\":4500,\"tax_rate\":1200,"
    "\"total_amount\":9000,\"total_tax_amount\":964}],"
    "\"merchant_reference1\":\"K042-1-000731\",\"merchant_reference2\":\"042-till-1\"}";

/*
 * An order of `lines` lines of 1.00 EUR at 25 % VAT (Germany, 0.20 tax each), built in a
 * malloc'd buffer. With `bad_attachment` the order ends in an attachment whose body is a number:
 * every line is read and checked before validation reaches it and refuses the order.
 */
static inline char *big_order(int lines, int bad_attachment)
{
    size_t cap = (size_t)lines * 200 + 1024;
    char *buf = malloc(cap);
    size_t n = 0;
    int i;
    if (buf == NULL)
        return NULL;
    n += (size_t)snprintf(buf + n, cap - n,
                          "{\"purchase_country\":\"DE\",\"purchase_currency\":\"EUR\","
                          "\"locale\":\"de-DE\",\"order_amount\":%d,\"order_tax_amount\":%d,"
                          "\"merchant_reference1\":\"BENCH-1000\",\"order_lines\":[",
                          lines * 100, lines * 20);
    for (i = 0; i < lines; i++)
        n += (size_t)snprintf(buf + n, cap - n,
                              "%s{\"type\":\"physical\",\"reference\":\"SKU-%05d\","
                              "\"name\":\"Article %d\",\"quantity\":1,\"unit_price\":100,"
                              "\"tax_rate\":2500,\"total_amount\":100,\"total_tax_amount\":20}",
                              i ? "," : "", i, i);
    if (bad_attachment)
        n += (size_t)snprintf(buf + n, cap - n,
                              "],\"attachment\":{\"content_type\":"
                              "\"application/vnd.klarna.internal.emd-v2+json\",\"body\":42}}");
    else
        n += (size_t)snprintf(buf + n, cap - n, "]}");
    return buf;
}

#endif /* BENCH_H */
