/*
 * wide_strings: a till that speaks only the `_w` layer, as VB6 and PowerBuilder tills do: every
 * string in as NUL-terminated UTF-16, every string out through its own buffer. It pays, captures
 * and refunds with non-ASCII text ("Åsa", "Größe") that must reach the simulator intact, sizes
 * buffers with cap 0, reads into exact and too small buffers (never written past their end,
 * always terminated), and is refused, naming the argument, for bad UTF-16 and bad buffers.
 * The UTF-8 functions are used only to talk to the simulator's control endpoints.
 */

#define _POSIX_C_SOURCE 200809L

#include <stdint.h>

#include "harness.h"
#include "sim_control.h"

#define SENTINEL 0xBEEF

/* UTF-8 (this file's own text) to NUL-terminated UTF-16; returns the units without the NUL. */
static size_t to_utf16(const char *utf8, uint16_t *out, size_t cap)
{
    const unsigned char *s = (const unsigned char *)utf8;
    size_t n = 0;
    while (*s != 0 && n + 2 < cap) {
        uint32_t c;
        if (*s < 0x80) {
            c = *s++;
        } else if ((*s & 0xE0) == 0xC0) {
            c = ((uint32_t)(s[0] & 0x1F) << 6) | (s[1] & 0x3F);
            s += 2;
        } else if ((*s & 0xF0) == 0xE0) {
            c = ((uint32_t)(s[0] & 0x0F) << 12) | ((uint32_t)(s[1] & 0x3F) << 6) | (s[2] & 0x3F);
            s += 3;
        } else {
            c = ((uint32_t)(s[0] & 0x07) << 18) | ((uint32_t)(s[1] & 0x3F) << 12) |
                ((uint32_t)(s[2] & 0x3F) << 6) | (s[3] & 0x3F);
            s += 4;
        }
        if (c >= 0x10000) {
            c -= 0x10000;
            out[n++] = (uint16_t)(0xD800 | (c >> 10));
            out[n++] = (uint16_t)(0xDC00 | (c & 0x3FF));
        } else {
            out[n++] = (uint16_t)c;
        }
    }
    out[n] = 0;
    return n;
}

/* ASCII-only UTF-16 (ids, URLs) to a C string; non-ASCII units become '?'. */
static void ascii_of(const uint16_t *w, char *out, size_t cap)
{
    size_t i = 0;
    while (w[i] != 0 && i + 1 < cap) {
        out[i] = w[i] < 0x80 ? (char)w[i] : '?';
        i++;
    }
    out[i] = '\0';
}

/* A wide string equals the UTF-8 text. */
static int wide_equals(const uint16_t *w, const char *utf8)
{
    uint16_t want[512];
    size_t n = to_utf16(utf8, want, sizeof want / sizeof want[0]);
    return memcmp(w, want, (n + 1) * sizeof(uint16_t)) == 0;
}

/* The last error's message, as the _w layer gives it, in ASCII for the report. */
static const char *last_message(void)
{
    static char text[1024];
    uint16_t w[1024];
    int32_t n = kpos_last_error_message_w(w, (int32_t)(sizeof w / sizeof w[0]));
    if (n < 0)
        return "(the message could not be read)";
    ascii_of(w, text, sizeof text);
    return text;
}

static void fill(uint16_t *buf, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++)
        buf[i] = SENTINEL;
}

/* The buffer contract on kpos_version_w: sizing, exact, small, zero, refused. */
static void buffers(void)
{
    uint16_t buf[64];
    int32_t need = kpos_version_w(NULL, 0);
    int32_t got;

    CHECK(need == (int32_t)strlen(KPOS_VERSION), "cap 0 with NULL returns the units needed");
    fill(buf, 64);
    got = kpos_version_w(buf, need + 1);
    CHECK(got == need && wide_equals(buf, KPOS_VERSION) && buf[need + 1] == SENTINEL,
          "an exact buffer holds the whole version and its NUL, nothing after");
    fill(buf, 64);
    got = kpos_version_w(buf, 3);
    CHECK(got == need && buf[0] == (uint16_t)KPOS_VERSION[0] &&
              buf[1] == (uint16_t)KPOS_VERSION[1] && buf[2] == 0 && buf[3] == SENTINEL,
          "a small buffer is cut, terminated, and not written past its capacity");
    fill(buf, 64);
    got = kpos_version_w(buf, 1);
    CHECK(got == need && buf[0] == 0 && buf[1] == SENTINEL, "cap 1 gives an empty string");
    fill(buf, 64);
    got = kpos_version_w(buf, 0);
    CHECK(got == need && buf[0] == SENTINEL, "cap 0 writes nothing, even with a buffer");

    CHECK(kpos_version_w(NULL, 8) == -1, "a NULL buffer with cap > 0 is refused (-1)");
    CHECK(kpos_last_error_code_w() == KPOS_E_INVALID_ARGUMENT,
          "... as KPOS_E_INVALID_ARGUMENT");
    fill(buf, 64);
    CHECK(kpos_version_w(buf, -1) == -1 && buf[0] == SENTINEL,
          "a negative cap is refused (-1) and nothing is written");
    CHECK_CONTAINS(last_message(), "negative", "the message says why");

    fill(buf, 64);
    got = kpos_status_name_w(KPOS_STATUS_COMPLETED, buf, 64);
    CHECK(got == 9 && wide_equals(buf, "COMPLETED"), "kpos_status_name_w");
    got = kpos_status_display_text_w(KPOS_STATUS_COMPLETED, buf, 64);
    CHECK(got > 0 && wide_equals(buf, kpos_status_display_text(KPOS_STATUS_COMPLETED)),
          "kpos_status_display_text_w gives the UTF-8 function's text");
}

static kpos_client *wide_client(void)
{
    char config[1024];
    uint16_t w[1024];
    kpos_client *client = NULL;
    /* A lone low surrogate inside the JSON text. */
    uint16_t bad[] = {'{', '"', 'u', 's', 'e', 'r', '_', 'a', 'g', 'e', 'n', 't', '"', ':', '"',
                      0xDC00, '"', '}', 0};

    snprintf(config, sizeof config,
             "{\"api_url\":\"%s\",\"username\":\"%s\",\"password\":\"%s\","
             "\"user_agent\":\"%s\",\"poll_interval_ms\":100}",
             getenv("KLARNA_API_URL"), getenv("KLARNA_USERNAME"), getenv("KLARNA_PASSWORD"),
             TEST_USER_AGENT);
    CHECK_CODE(kpos_client_new_w(bad, &client), KPOS_E_INVALID_ARGUMENT,
               "invalid UTF-16 in config_json is refused");
    CHECK_CONTAINS(last_message(), "config_json is not valid UTF-16",
                   "the message names config_json");
    CHECK_STR(kpos_last_error_field(), "config_json", "the field is config_json");

    to_utf16(config, w, sizeof w / sizeof w[0]);
    if (!CHECK_CODE(kpos_client_new_w(w, &client), KPOS_OK, "kpos_client_new_w")) {
        printf("# %s\n", last_message());
        exit(harness_exit() + 1);
    }
    return client;
}

static const char ORDER[] =
    "{\"purchase_country\":\"SE\",\"purchase_currency\":\"SEK\",\"locale\":\"sv-SE\","
    "\"order_amount\":9000,\"order_tax_amount\":964,"
    "\"order_lines\":[{\"type\":\"physical\",\"reference\":\"TRJ-M\","
    "\"name\":\"Tröja, Größe M\",\"quantity\":2,\"unit_price\":4500,\"tax_rate\":1200,"
    "\"total_amount\":9000,\"total_tax_amount\":964}],"
    "\"merchant_reference1\":\"K042-1-000732\",\"merchant_reference2\":\"Åsa\"}";

int main(void)
{
    kpos_client *client;
    kpos_session *session = NULL, *other = NULL;
    uint16_t w[2048], buf[256], small[8];
    char id[128], order_id[128], sim[65536], path[256];
    uint32_t status = 1234;
    int32_t need, got, id_len = -1, id_len2 = -1;
    long creates;
    /* {"x":"<a lone high surrogate>"} */
    uint16_t bad_order[] = {'{', '"', 'x', '"', ':', '"', 0xD83D, '"', '}', 0};

    setvbuf(stdout, NULL, _IOLBF, 0);
    buffers();
    client = wide_client();

    creates = sim_stat("create_requests");
    CHECK_CODE(kpos_session_create_w(client, bad_order, &session), KPOS_E_INVALID_ARGUMENT,
               "a lone surrogate in order_json is refused");
    CHECK_CONTAINS(last_message(), "order_json is not valid UTF-16: unpaired surrogate 0xD83D",
                   "the message names order_json and the surrogate");
    CHECK(sim_stat("create_requests") == creates, "nothing was sent");
    CHECK_CODE(kpos_session_create_w(client, NULL, &session), KPOS_E_INVALID_ARGUMENT,
               "a NULL order_json is refused");

    to_utf16(ORDER, w, sizeof w / sizeof w[0]);
    if (!CHECK_CODE(kpos_session_create_w(client, w, &session), KPOS_OK,
                    "kpos_session_create_w with non-ASCII text")) {
        printf("# %s\n", last_message());
        return harness_exit() + 1;
    }

    need = kpos_session_id_w(session, NULL, 0);
    CHECK(need > 0 && need < 100, "kpos_session_id_w sizes the id");
    fill(buf, 256);
    got = kpos_session_id_w(session, buf, need + 1);
    CHECK(got == need && buf[need] == 0 && buf[need + 1] == SENTINEL,
          "the id fits an exact buffer");
    ascii_of(buf, id, sizeof id);
    CHECK(strlen(id) == (size_t)need, "the id is ASCII");
    fill(small, 8);
    got = kpos_session_id_w(session, small, 4);
    CHECK(got == need && small[3] == 0 && small[4] == SENTINEL && memcmp(small, buf, 6) == 0,
          "a small buffer gets the id's start, terminated");

    CHECK(sim_session(id, sim, sizeof sim) == 200, "the simulator has the session");
    CHECK_CONTAINS(sim, "\"name\":\"Tröja, Größe M\"", "the line name reached Klarna intact");
    CHECK_CONTAINS(sim, "\"merchant_reference2\":\"Åsa\"", "the reference reached Klarna intact");

    CHECK_CODE(kpos_session_poll_w(session, &status), KPOS_OK, "kpos_session_poll_w");
    CHECK(status == KPOS_STATUS_DISTRIBUTED, "the session is DISTRIBUTED");
    CHECK(kpos_session_qr_url_w(session, buf, 256) > 10, "kpos_session_qr_url_w");
    CHECK(wide_equals(buf, kpos_session_qr_url(session)), "... the same URL as the UTF-8 getter");
    need = kpos_session_payment_link_w(session, NULL, 0);
    CHECK(need > 0 && kpos_session_payment_link_w(session, buf, 256) == need &&
              wide_equals(buf, kpos_session_payment_link(session)),
          "kpos_session_payment_link_w");
    CHECK(kpos_session_order_id_w(session, buf, 256) == 0 && buf[0] == 0,
          "no order id before the payment: 0 and an empty buffer");
    fill(buf, 256);
    CHECK(kpos_session_receipt_text_w(session, NULL, buf, 256) == -1 && buf[0] == 0,
          "no receipt before the payment: -1 and an empty buffer");
    CHECK(kpos_last_error_code_w() == KPOS_E_CONFLICT, "... as KPOS_E_CONFLICT");

    CHECK(sim_customer(id, "approve", "{\"order_id\":\"WIDE-ORDER-1\"}") == 200,
          "the customer approves the payment");
    status = 1234;
    CHECK_CODE(kpos_session_wait_w(session, 10000, &status), KPOS_OK, "kpos_session_wait_w");
    CHECK(status == KPOS_STATUS_COMPLETED, "the payment is COMPLETED");
    need = kpos_session_order_id_w(session, NULL, 0);
    CHECK(need == 12 && kpos_session_order_id_w(session, buf, need + 1) == need &&
              wide_equals(buf, "WIDE-ORDER-1"),
          "kpos_session_order_id_w gives the order id");
    ascii_of(buf, order_id, sizeof order_id);
    {
        uint16_t language[16], receipt[512];
        char *text = NULL;
        to_utf16("sv-SE", language, 16);
        need = kpos_session_receipt_text_w(session, language, NULL, 0);
        CHECK_CODE(kpos_session_receipt_text(session, "sv-SE", &text), KPOS_OK,
                   "the UTF-8 receipt, to compare");
        CHECK(need > 40 && need < 500 &&
                  kpos_session_receipt_text_w(session, language, receipt, need + 1) == need &&
                  text != NULL && wide_equals(receipt, text),
              "kpos_session_receipt_text_w gives the Swedish receipt, as the UTF-8 function");
        CHECK_CONTAINS(text, "90,00 SEK", "... with the amount");
        CHECK_CONTAINS(text, "WIDE-ORDER-1", "... and the order id");
        kpos_string_free(text);
        fill(small, 8);
        CHECK(kpos_session_receipt_text_w(session, language, small, 5) == need && small[4] == 0 &&
                  small[5] == SENTINEL,
              "a small buffer gets the receipt's start, terminated, nothing written after");
        CHECK(kpos_session_receipt_text_w(session, bad_order + 6, buf, 256) == -1 &&
                  kpos_last_error_code_w() == KPOS_E_INVALID_ARGUMENT,
              "a language that is a lone surrogate is refused");
        CHECK_STR(kpos_last_error_field(), "language", "... naming language");
    }
    kpos_session_free_w(session);
    fill(buf, 256);
    CHECK(kpos_session_id_w(session, buf, 256) == -1 && buf[0] == 0,
          "a freed session is refused (-1) and the buffer emptied");
    CHECK(kpos_last_error_code_w() == KPOS_E_INVALID_ARGUMENT, "... as KPOS_E_INVALID_ARGUMENT");

    to_utf16(order_id, w, sizeof w / sizeof w[0]);
    {
        uint16_t body[256], key[64], cap_id[64];
        to_utf16("{\"captured_amount\":9000,\"description\":\"Tröja, Größe M\"}", body, 256);
        to_utf16("wide-capture-1", key, 64);
        CHECK_CODE(kpos_order_capture_w(client, w, body, key, cap_id, 64, &id_len), KPOS_OK,
                   "kpos_order_capture_w");
        CHECK(id_len > 0 && id_len < 64 && cap_id[id_len] == 0, "the Capture-Id fits");

        to_utf16("{\"refunded_amount\":4500,\"description\":\"Återköp Åsa\"}", body, 256);
        to_utf16("wide-refund-1", key, 64);
        CHECK_CODE(kpos_order_refund_w(client, w, body, key, NULL, 10, NULL),
                   KPOS_E_INVALID_ARGUMENT, "a NULL refund buffer with cap 10 is refused");
        CHECK_STR(kpos_last_error_field(), "refund_id", "the field is refund_id");
        CHECK_CODE(kpos_order_refund_w(client, w, body, key, buf, -5, NULL),
                   KPOS_E_INVALID_ARGUMENT, "a negative refund cap is refused");

        fill(small, 8);
        id_len = -1;
        CHECK_CODE(kpos_order_refund_w(client, w, body, key, small, 5, &id_len), KPOS_OK,
                   "kpos_order_refund_w into a small buffer");
        CHECK(id_len > 4 && small[4] == 0 && small[5] == SENTINEL,
              "the Refund-Id was cut at the buffer, terminated, nothing written after");
        fill(buf, 256);
        CHECK_CODE(kpos_order_refund_w(client, w, body, key, buf, id_len + 1, &id_len2), KPOS_OK,
                   "the same refund again with its key and a big enough buffer");
        CHECK(id_len2 == id_len && buf[id_len] == 0 && buf[id_len + 1] == SENTINEL &&
                  memcmp(buf, small, 4 * sizeof(uint16_t)) == 0,
              "the whole Refund-Id, the one that was cut");

        snprintf(path, sizeof path, "/_sim/orders/%s", order_id);
        CHECK(sim_get(path, sim, sizeof sim) == 200, "the simulator has the order");
        CHECK(sim_json_int(sim, "captured_amount") == 9000, "captured once");
        CHECK(sim_json_int(sim, "refunded_amount") == 4500, "refunded once, not twice");
        CHECK_CONTAINS(sim, "\"description\":\"Återköp Åsa\"",
                       "the refund's description reached Klarna intact");
        CHECK_CONTAINS(sim, "\"description\":\"Tröja, Größe M\"",
                       "the capture's description reached Klarna intact");

        to_utf16("{\"refunded_amount\":100000}", body, 256);
        CHECK_CODE(kpos_order_refund_w(client, w, body, NULL, buf, 256, NULL), KPOS_E_CONFLICT,
                   "a refund above the captured amount is refused by Klarna");
        need = kpos_last_error_message_w(NULL, 0);
        CHECK(need > 10 && kpos_last_error_message_w(buf, 256) == need,
              "kpos_last_error_message_w sizes and gives the message");
        CHECK_CONTAINS(last_message(), "KPOS_E_CONFLICT", "the message names the code");
    }

    to_utf16(ORDER, w, sizeof w / sizeof w[0]);
    CHECK_CODE(kpos_session_create_w(client, w, &other), KPOS_OK, "a second sale");
    CHECK_CODE(kpos_session_cancel_w(other), KPOS_OK, "kpos_session_cancel_w");
    CHECK_CODE(kpos_session_poll_w(other, &status), KPOS_OK, "poll after the cancel");
    CHECK(status == KPOS_STATUS_CANCELED, "the second sale is CANCELED");
    kpos_session_free_w(other);
    kpos_client_free_w(client);
    return harness_exit();
}
