/*
 * webhook_receiver: a till whose payment status arrives by webhook.
 *
 *   webhook_receiver ORDER.json [--port N] [--timeout-ms N]
 *     env: KLARNA_API_URL, KLARNA_USERNAME, KLARNA_PASSWORD
 *
 * It listens on 127.0.0.1:PORT (0, the default, picks a free port) as the till backend's
 * webhook endpoint, creates the client with "webhook_url": "http://127.0.0.1:PORT/klarna/status"
 * (plain http is accepted only on loopback: a real backend uses https), and pays ORDER.json. A
 * receiver thread hands every callback to kpos_webhook_verify and answers it; meanwhile the
 * till waits with kpos_session_wait, which returns as soon as a verified callback changed the
 * status (it polls only as a safety net, every webhook_poll_interval_ms).
 *
 * The payment link is drawn as a QR code on stderr with kpos_qr_render (KPOS_QR_TEXT).
 * stdout, one key=value per line: session_id, qr_url (when known), display (the cashier text),
 * status (each change), order_id (on COMPLETED), callback=<STATUS> <KPOS_RESULT> for each call
 * received, error=<KPOS_E_NAME> <message> on failure.
 * exit: 0 COMPLETED; 2 CANCELED/FAILED/EXPIRED or timed out (then cancelled); 1 any error.
 */
#define _POSIX_C_SOURCE 200809L

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "klarna_pos.h"

#define MAX_REQUEST 65536

static kpos_client *client;
static pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;

static void say(const char *key, const char *value) {
    pthread_mutex_lock(&out_lock);
    printf("%s=%s\n", key, value);
    fflush(stdout);
    pthread_mutex_unlock(&out_lock);
}

static char *read_file(const char *path) {
    FILE *f = fopen(path, "rb");
    char *buf;
    long n;
    if (!f) return NULL;
    if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
        fclose(f);
        return NULL;
    }
    buf = malloc((size_t)n + 1);
    if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    if (buf) buf[n] = '\0';
    fclose(f);
    return buf;
}

/* Appends s to out as a JSON string (quotes included). */
static void json_string(char *out, size_t cap, const char *s) {
    size_t len = strlen(out);
    if (len + 2 >= cap) return;
    out[len++] = '"';
    for (; *s && len + 8 < cap; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            out[len++] = '\\';
            out[len++] = (char)c;
        } else if (c < 0x20) {
            len += (size_t)snprintf(out + len, cap - len, "\\u%04x", c);
        } else {
            out[len++] = (char)c;
        }
    }
    out[len++] = '"';
    out[len] = '\0';
}

/* Reads one HTTP request: its target ("/path?query") and its body, NUL-terminated. */
/* Reads one request into buf: its target and body, each with its length in bytes (the body
 * is Content-Length bytes and may hold anything, NUL bytes included). */
static int read_request(int fd, char *buf, size_t cap, char **target, size_t *target_len,
                        char **body, size_t *body_len) {
    size_t have = 0;
    char *head_end = NULL, *cl, *sp;
    size_t content_length = 0, body_start;
    while (!head_end) {
        ssize_t n;
        if (have + 1 >= cap) return -1;
        n = read(fd, buf + have, cap - 1 - have);
        if (n <= 0) return -1;
        have += (size_t)n;
        buf[have] = '\0';
        head_end = strstr(buf, "\r\n\r\n");
    }
    body_start = (size_t)(head_end - buf) + 4;
    for (cl = buf; (cl = strchr(cl, '\n')) != NULL; cl++) {
        if (strncasecmp(cl + 1, "content-length:", 15) == 0) {
            content_length = (size_t)strtoul(cl + 16, NULL, 10);
            break;
        }
    }
    if (body_start + content_length >= cap) return -1;
    while (have < body_start + content_length) {
        ssize_t n = read(fd, buf + have, body_start + content_length - have);
        if (n <= 0) return -1;
        have += (size_t)n;
    }
    buf[body_start + content_length] = '\0';
    *head_end = '\0';
    /* Request line: METHOD SP TARGET SP VERSION */
    sp = strchr(buf, ' ');
    if (!sp) return -1;
    *target = sp + 1;
    sp = strchr(*target, ' ');
    if (!sp) return -1;
    *sp = '\0';
    *target_len = (size_t)(sp - *target);
    *body = buf + body_start;
    *body_len = content_length;
    return 0;
}

/* The receiver: every callback goes to kpos_webhook_verify; its result decides the answer. */
static void *receive(void *arg) {
    int listen_fd = *(int *)arg;
    static char buf[MAX_REQUEST];
    for (;;) {
        char *target, *body, *session_id = NULL, line[160];
        size_t target_len, body_len;
        const char *answer;
        uint32_t status = KPOS_STATUS_UNKNOWN;
        kpos_result rc;
        int fd = accept(listen_fd, NULL, NULL);
        if (fd < 0) break; /* the listening socket was shut down */
        if (read_request(fd, buf, sizeof buf, &target, &target_len, &body, &body_len) != 0) {
            close(fd);
            continue;
        }
        /* Untrusted bytes, passed with their lengths exactly as they arrived. */
        rc = kpos_webhook_verify(client, (const uint8_t *)target, target_len,
                                 (const uint8_t *)body, body_len, &session_id, &status);
        switch (rc) {
        case KPOS_OK: answer = "200 OK"; break;
        case KPOS_E_PERMISSION_DENIED: answer = "403 Forbidden"; break;
        case KPOS_E_NOT_FOUND: answer = "404 Not Found"; break;
        case KPOS_E_BAD_REQUEST: answer = "400 Bad Request"; break;
        default: answer = "503 Service Unavailable"; break; /* Klarna delivers again */
        }
        snprintf(line, sizeof line, "%s %s", rc == KPOS_OK ? kpos_status_name(status) : "-",
                 kpos_result_name(rc));
        say("callback", line);
        dprintf(fd, "HTTP/1.1 %s\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", answer);
        close(fd);
        kpos_string_free(session_id);
    }
    return NULL;
}

static void fail(const char *what) {
    char line[1024];
    snprintf(line, sizeof line, "%s %s (%s)", kpos_result_name(kpos_last_error_code()),
             kpos_last_error_message(), what);
    say("error", line);
}

int main(int argc, char **argv) {
    const char *order_path = NULL;
    unsigned port = 0;
    uint32_t timeout_ms = 120000, status = KPOS_STATUS_CREATED, shown = KPOS_STATUS_CREATED;
    int listen_fd, i, exit_code = 1, qr_shown = 0;
    struct sockaddr_in addr;
    socklen_t addr_len = sizeof addr;
    pthread_t receiver;
    char config[4096], url[64], *order = NULL;
    const char *api = getenv("KLARNA_API_URL"), *user = getenv("KLARNA_USERNAME"),
               *password = getenv("KLARNA_PASSWORD");
    kpos_session *session = NULL;

    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--port") == 0 && i + 1 < argc) port = (unsigned)atoi(argv[++i]);
        else if (strcmp(argv[i], "--timeout-ms") == 0 && i + 1 < argc)
            timeout_ms = (uint32_t)strtoul(argv[++i], NULL, 10);
        else if (!order_path) order_path = argv[i];
        else order_path = NULL, i = argc;
    }
    if (!order_path || !api || !user) {
        fprintf(stderr, "usage: webhook_receiver ORDER.json [--port N] [--timeout-ms N]\n"
                        "  env: KLARNA_API_URL, KLARNA_USERNAME, KLARNA_PASSWORD\n");
        return 1;
    }
    if (!(order = read_file(order_path))) {
        fprintf(stderr, "cannot read %s\n", order_path);
        return 1;
    }

    listen_fd = socket(AF_INET, SOCK_STREAM, 0);
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons((uint16_t)port);
    if (listen_fd < 0 || bind(listen_fd, (struct sockaddr *)&addr, sizeof addr) != 0 ||
        listen(listen_fd, 16) != 0 ||
        getsockname(listen_fd, (struct sockaddr *)&addr, &addr_len) != 0) {
        perror("webhook_receiver: listen");
        return 1;
    }
    snprintf(url, sizeof url, "http://127.0.0.1:%u/klarna/status", ntohs(addr.sin_port));

    strcpy(config, "{\"api_url\":");
    json_string(config, sizeof config, api);
    strcat(config, ",\"username\":");
    json_string(config, sizeof config, user);
    strcat(config, ",\"password\":");
    json_string(config, sizeof config, password ? password : "");
    strcat(config, ",\"user_agent\":\"WebhookTill/1.0\",\"webhook_url\":");
    json_string(config, sizeof config, url);
    strcat(config, "}");
    if (kpos_client_new(config, &client) != KPOS_OK) {
        fail("client");
        goto done;
    }
    if (pthread_create(&receiver, NULL, receive, &listen_fd) != 0) {
        fprintf(stderr, "webhook_receiver: cannot start the receiver thread\n");
        goto done;
    }

    if (kpos_session_create(client, order, &session) != KPOS_OK) {
        fail("create");
        goto stop;
    }
    say("session_id", kpos_session_id(session));
    while (!kpos_status_is_terminal(status)) {
        kpos_result rc = kpos_session_wait(session, timeout_ms, &status);
        if (rc == KPOS_E_TIMEOUT) {
            /* Klarna advises cancelling what the till gave up on. */
            if (kpos_session_cancel(session) != KPOS_OK) fail("cancel");
            say("status", kpos_status_name(kpos_session_status(session)));
            exit_code = 2;
            goto stop;
        }
        if (rc != KPOS_OK) {
            fail("wait");
            goto stop;
        }
        if (!qr_shown && kpos_session_qr_url(session)) {
            const char *link = kpos_session_payment_link(session);
            uint8_t *qr = NULL;
            size_t qr_len = 0;
            say("qr_url", kpos_session_qr_url(session));
            /* The customer can scan this terminal drawing of the payment link, too. */
            if (link && kpos_qr_render(link, KPOS_QR_TEXT, &qr, &qr_len) == KPOS_OK) {
                fwrite(qr, 1, qr_len, stderr);
                kpos_bytes_free(qr, qr_len);
            }
            qr_shown = 1;
        }
        if (status != shown) {
            say("status", kpos_status_name(status));
            say("display", kpos_status_display_text(status));
            shown = status;
        }
    }
    if (status == KPOS_STATUS_COMPLETED) {
        say("order_id", kpos_session_order_id(session));
        exit_code = 0;
    } else {
        exit_code = 2;
    }

stop:
    shutdown(listen_fd, SHUT_RDWR); /* ends the receiver's accept() */
    pthread_join(receiver, NULL);
done:
    close(listen_fd);
    kpos_session_free(session);
    kpos_client_free(client);
    free(order);
    return exit_code;
}
