/*
 * wide_till.c: a Windows till that uses klarna_pos.dll only as VB6 and PowerBuilder can: the DLL
 * loaded with LoadLibraryW, every function fetched with GetProcAddress through __stdcall
 * pointer types (no header, no import library), strings as UTF-16 with non-ASCII text, strings
 * read back through the caller's buffers sized with cap 0, and small, exact and zero-sized
 * buffers checked. It takes a payment (the simulator's automatic customer approves it),
 * captures it and refunds half, then prints what tests/packaging/windows.sh compares with the
 * simulator's records:
 *
 *   ok - NAME / not ok - NAME    one line per check
 *   session_id=ID  order_id=ID  capture_id=ID  refund_id=ID  status=NAME  display=TEXT
 *
 * Environment: KLARNA_API_URL, KLARNA_USERNAME, KLARNA_PASSWORD. Exit status 0 when every check
 * passed. Build: x86_64-w64-mingw32-gcc -municode -O2 -static-libgcc wide_till.c -o wide_till.exe
 * (also i686-w64-mingw32-gcc: the pointer types carry __stdcall, as VB6's Declare does).
 */

#include <stdio.h>
#include <string.h>
#include <wchar.h>
#include <windows.h>

typedef void *HANDLE_T; /* VB6: Long (32-bit), PowerBuilder: longptr */

typedef int(__stdcall *version_w_t)(WCHAR *buf, int cap);
typedef unsigned(__stdcall *client_new_w_t)(const WCHAR *config, HANDLE_T *out);
typedef void(__stdcall *free_w_t)(HANDLE_T h);
typedef unsigned(__stdcall *session_create_w_t)(HANDLE_T client, const WCHAR *order,
                                                HANDLE_T *out);
typedef unsigned(__stdcall *session_wait_w_t)(HANDLE_T s, unsigned timeout_ms, unsigned *status);
typedef unsigned(__stdcall *session_cancel_w_t)(HANDLE_T s);
typedef int(__stdcall *session_string_w_t)(HANDLE_T s, WCHAR *buf, int cap);
typedef unsigned(__stdcall *move_money_w_t)(HANDLE_T client, const WCHAR *order_id,
                                            const WCHAR *json, const WCHAR *key, WCHAR *id_buf,
                                            int id_cap, int *id_len);
typedef int(__stdcall *message_w_t)(WCHAR *buf, int cap);
typedef unsigned(__stdcall *code_w_t)(void);
typedef int(__stdcall *status_string_w_t)(unsigned status, WCHAR *buf, int cap);
typedef int(__stdcall *receipt_w_t)(HANDLE_T s, const WCHAR *language, WCHAR *buf, int cap);

static int failures = 0;

static void check(int passed, const char *name)
{
    printf("%s - %s\n", passed ? "ok" : "not ok", name);
    fflush(stdout);
    if (!passed)
        failures++;
}

/* Prints key=value with the value as UTF-8. */
static void put(const char *key, const WCHAR *value)
{
    char utf8[4096];
    int n = WideCharToMultiByte(CP_UTF8, 0, value, -1, utf8, (int)sizeof utf8, NULL, NULL);
    printf("%s=%s\n", key, n > 0 ? utf8 : "?");
    fflush(stdout);
}

static HMODULE dll;

static FARPROC fetch(const char *name)
{
    FARPROC f = GetProcAddress(dll, name);
    if (f == NULL) {
        printf("not ok - GetProcAddress(%s)\n", name);
        ExitProcess(3);
    }
    return f;
}
#define FETCH(type, name) ((type)(void *)fetch(name))

int wmain(void)
{
    WCHAR config[2048], url[512], user[256], password[256], buf[512], small[8], message[1024];
    WCHAR session_id[128], order_id[128], capture_id[128], refund_id[128], refund_again[128];
    HANDLE_T client = NULL, session = NULL;
    unsigned rc, status = 0;
    int n, got, len = -1, len2 = -1, i;
    /* {"x":"<a lone high surrogate>"}: not UTF-16. */
    const WCHAR bad_order[] = {'{', '"', 'x', '"', ':', '"', 0xD83D, '"', '}', 0};
    const WCHAR *order =
        L"{\"purchase_country\":\"SE\",\"purchase_currency\":\"SEK\",\"locale\":\"sv-SE\","
        L"\"order_amount\":9000,\"order_tax_amount\":964,"
        L"\"order_lines\":[{\"type\":\"physical\",\"reference\":\"TRJ-M\","
        L"\"name\":\"Tr\u00f6ja, Gr\u00f6\u00dfe M\",\"quantity\":2,\"unit_price\":4500,"
        L"\"tax_rate\":1200,\"total_amount\":9000,\"total_tax_amount\":964}],"
        L"\"merchant_reference1\":\"K042-1-000733\",\"merchant_reference2\":\"\u00c5sa\"}";

    version_w_t version_w;
    client_new_w_t client_new_w;
    free_w_t client_free_w, session_free_w;
    session_create_w_t session_create_w;
    session_wait_w_t session_wait_w;
    session_cancel_w_t session_cancel_w;
    session_string_w_t session_id_w, qr_url_w, order_id_w;
    move_money_w_t capture_w, refund_w;
    message_w_t last_error_message_w;
    code_w_t last_error_code_w;
    status_string_w_t status_name_w, display_text_w;
    receipt_w_t receipt_w;

    dll = LoadLibraryW(L"klarna_pos.dll");
    check(dll != NULL, "LoadLibraryW(klarna_pos.dll)");
    if (dll == NULL)
        return 3;
    version_w = FETCH(version_w_t, "kpos_version_w");
    client_new_w = FETCH(client_new_w_t, "kpos_client_new_w");
    client_free_w = FETCH(free_w_t, "kpos_client_free_w");
    session_free_w = FETCH(free_w_t, "kpos_session_free_w");
    session_create_w = FETCH(session_create_w_t, "kpos_session_create_w");
    session_wait_w = FETCH(session_wait_w_t, "kpos_session_wait_w");
    session_cancel_w = FETCH(session_cancel_w_t, "kpos_session_cancel_w");
    session_id_w = FETCH(session_string_w_t, "kpos_session_id_w");
    qr_url_w = FETCH(session_string_w_t, "kpos_session_qr_url_w");
    order_id_w = FETCH(session_string_w_t, "kpos_session_order_id_w");
    capture_w = FETCH(move_money_w_t, "kpos_order_capture_w");
    refund_w = FETCH(move_money_w_t, "kpos_order_refund_w");
    last_error_message_w = FETCH(message_w_t, "kpos_last_error_message_w");
    last_error_code_w = FETCH(code_w_t, "kpos_last_error_code_w");
    status_name_w = FETCH(status_string_w_t, "kpos_status_name_w");
    display_text_w = FETCH(status_string_w_t, "kpos_status_display_text_w");
    receipt_w = FETCH(receipt_w_t, "kpos_session_receipt_text_w");
    check(1, "every _w function found by its undecorated name");

    /* Buffers: sizing with cap 0, exact, small, zero with a buffer. */
    n = version_w(NULL, 0);
    for (i = 0; i < 8; i++)
        small[i] = 0xBEEF;
    got = version_w(small, 3);
    check(n >= 5 && got == n && small[2] == 0 && small[3] == 0xBEEF,
          "a small buffer is cut and terminated, nothing written past it");
    small[0] = 0xBEEF;
    check(version_w(small, 0) == n && small[0] == 0xBEEF, "cap 0 writes nothing");
    got = version_w(buf, n + 1);
    check(got == n && buf[n] == 0, "an exact buffer holds the version");
    put("version", buf);
    check(version_w(NULL, 4) == -1 && last_error_code_w() == 1,
          "a NULL buffer with cap > 0 is refused (KPOS_E_INVALID_ARGUMENT)");

    GetEnvironmentVariableW(L"KLARNA_API_URL", url, 512);
    GetEnvironmentVariableW(L"KLARNA_USERNAME", user, 256);
    GetEnvironmentVariableW(L"KLARNA_PASSWORD", password, 256);
    _snwprintf(config, 2048,
               L"{\"api_url\":\"%ls\",\"username\":\"%ls\",\"password\":\"%ls\","
               L"\"poll_interval_ms\":200,\"user_agent\":\"wide-till/1.0 (\u00c5sa)\"}",
               url, user, password);
    config[2047] = 0;
    rc = client_new_w(config, &client);
    check(rc == 0, "kpos_client_new_w");
    if (rc != 0)
        return 1;

    rc = session_create_w(client, bad_order, &session);
    n = last_error_message_w(NULL, 0);
    got = last_error_message_w(message, n + 1);
    check(rc == 1 && n > 0 && got == n && wcsstr(message, L"order_json") != NULL,
          "invalid UTF-16 is KPOS_E_INVALID_ARGUMENT naming order_json");
    put("refused", message);

    rc = session_create_w(client, order, &session);
    check(rc == 0, "kpos_session_create_w with \"Gr\xc3\xb6\xc3\x9f" "e\" and \"\xc3\x85sa\"");
    if (rc != 0) {
        last_error_message_w(message, 1024);
        put("error", message);
        return 1;
    }
    n = session_id_w(session, NULL, 0);
    check(n > 0 && n < 128 && session_id_w(session, session_id, n + 1) == n,
          "kpos_session_id_w sized with cap 0, read into an exact buffer");
    put("session_id", session_id);

    for (;;) {
        rc = session_wait_w(session, 60000, &status);
        if (rc != 0)
            break;
        status_name_w(status, buf, 512);
        put("status", buf);
        display_text_w(status, buf, 512);
        put("display", buf);
        if (status == 2 && qr_url_w(session, buf, 512) > 0)
            put("qr_url", buf);
        if (status >= 4 && status <= 7)
            break;
    }
    check(rc == 0 && status == 4, "the payment COMPLETED");
    if (status != 4) {
        rc = session_cancel_w(session);
        return 2;
    }
    n = order_id_w(session, NULL, 0);
    check(n > 0 && n < 128 && order_id_w(session, order_id, 128) == n, "kpos_session_order_id_w");
    put("order_id", order_id);
    n = receipt_w(session, L"sv-SE", NULL, 0);
    check(n > 40 && n < 512 && receipt_w(session, L"sv-SE", buf, 512) == n &&
              wcsstr(buf, L"90,00 SEK") != NULL && wcsstr(buf, order_id) != NULL,
          "kpos_session_receipt_text_w: the Swedish receipt with the amount and order id");
    session_free_w(session);

    rc = capture_w(client, order_id, L"{\"captured_amount\":9000,\"description\":\"Tr\u00f6ja\"}",
                   L"wide-till-capture", capture_id, 128, &len);
    check(rc == 0 && len > 0 && len < 128, "kpos_order_capture_w");
    put("capture_id", capture_id);

    for (i = 0; i < 8; i++)
        small[i] = 0xBEEF;
    rc = refund_w(client, order_id,
                  L"{\"refunded_amount\":4500,\"description\":\"\u00c5terk\u00f6p \u00c5sa\"}",
                  L"wide-till-refund", small, 6, &len);
    check(rc == 0 && len > 5 && small[5] == 0 && small[6] == 0xBEEF,
          "kpos_order_refund_w into a 6-unit buffer: cut, terminated, the length needed");
    rc = refund_w(client, order_id,
                  L"{\"refunded_amount\":4500,\"description\":\"\u00c5terk\u00f6p \u00c5sa\"}",
                  L"wide-till-refund", refund_again, len + 1, &len2);
    check(rc == 0 && len2 == len && refund_again[len] == 0 &&
              memcmp(refund_again, small, 5 * sizeof(WCHAR)) == 0,
          "the same refund with its key into an exact buffer: the same Refund-Id");
    wcscpy(refund_id, refund_again);
    put("refund_id", refund_id);

    client_free_w(client);
    printf("# %d check(s) failed\n", failures);
    return failures == 0 ? 0 : 1;
}
