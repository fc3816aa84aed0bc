/*
 * chain_receiver.c: the chain's central webhook receiver in the chain benchmark
 * (tests/bench/chain.sh). It has no session: only the chain's webhook_secret. It receives
 * Klarna's status callbacks over HTTP, verifies each with kpos_webhook_verify (which returns the
 * session id and the status the callback reports), answers Klarna, and relays the callback's
 * target and body to the group of tills it belongs to (the callback URL says which:
 * ?group=G&till=T), over the connection that group opened to the relay port.
 *
 *   chain_receiver --url API_URL --secret HEX
 * prints "http PORT" and "relay PORT" on standard output, then serves until killed; on standard
 * error one line per refused callback.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "klarna_pos.h"

#define MAX_GROUPS 64
#define MAX_REQUEST (64 * 1024)

static int group_fd[MAX_GROUPS];
static pthread_mutex_t group_lock = PTHREAD_MUTEX_INITIALIZER;

static int listen_any(uint16_t *port)
{
    struct sockaddr_in addr;
    socklen_t len = sizeof addr;
    int one = 1;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *)&addr, sizeof addr) != 0 || listen(fd, 1024) != 0 ||
        getsockname(fd, (struct sockaddr *)&addr, &len) != 0)
        return -1;
    *port = ntohs(addr.sin_port);
    return fd;
}

/* Accepts the tills' groups: each connects and says "hello G\n". */
static void *relay_accept(void *arg)
{
    int lfd = (int)(intptr_t)arg;
    for (;;) {
        char hello[32];
        size_t n = 0;
        int group;
        int fd = accept(lfd, NULL, NULL);
        if (fd < 0)
            continue;
        while (n + 1 < sizeof hello && read(fd, hello + n, 1) == 1 && hello[n] != '\n')
            n++;
        hello[n] = '\0';
        if (sscanf(hello, "hello %d", &group) != 1 || group < 0 || group >= MAX_GROUPS) {
            close(fd);
            continue;
        }
        pthread_mutex_lock(&group_lock);
        if (group_fd[group] >= 0)
            close(group_fd[group]);
        group_fd[group] = fd;
        pthread_mutex_unlock(&group_lock);
    }
    return NULL;
}

static int query_int(const char *target, const char *name)
{
    char key[32];
    const char *q = strchr(target, '?');
    snprintf(key, sizeof key, "%s=", name);
    while (q != NULL) {
        q++;
        if (strncmp(q, key, strlen(key)) == 0)
            return atoi(q + strlen(key));
        q = strchr(q, '&');
    }
    return -1;
}

static void relay(const char *target, const char *body, size_t body_len)
{
    int group = query_int(target, "group"), till = query_int(target, "till");
    char head[64];
    int fd;
    if (group < 0 || group >= MAX_GROUPS || till < 0 || memchr(body, '\n', body_len))
        return;
    snprintf(head, sizeof head, "%d\t", till);
    pthread_mutex_lock(&group_lock);
    fd = group_fd[group];
    if (fd >= 0) {
        size_t tl = strlen(target);
        char *line = malloc(strlen(head) + tl + body_len + 3);
        if (line != NULL) {
            size_t n = 0, off = 0;
            memcpy(line + n, head, strlen(head)), n += strlen(head);
            memcpy(line + n, target, tl), n += tl;
            line[n++] = '\t';
            memcpy(line + n, body, body_len), n += body_len;
            line[n++] = '\n';
            while (off < n) {
                ssize_t w = write(fd, line + off, n - off);
                if (w <= 0 && errno != EINTR)
                    break;
                if (w > 0)
                    off += (size_t)w;
            }
            free(line);
        }
    }
    pthread_mutex_unlock(&group_lock);
}

static void answer(int fd, int status, const char *reason)
{
    char out[128];
    int n = snprintf(out, sizeof out,
                     "HTTP/1.1 %d %s\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", status,
                     reason);
    if (write(fd, out, (size_t)n) != n) {
    }
}

/* One callback per connection, as Klarna (and the simulator) deliver them. */
static void serve(kpos_client *client, int fd)
{
    static char buf[MAX_REQUEST + 1];
    size_t n = 0, content_length = 0, head_len;
    char *end, *cl, *target, *sp;
    uint32_t status = 0;
    char *session_id = NULL;
    kpos_result rc;
    for (;;) {
        ssize_t r = read(fd, buf + n, MAX_REQUEST - n);
        if (r <= 0)
            return;
        n += (size_t)r;
        buf[n] = '\0';
        end = strstr(buf, "\r\n\r\n");
        if (end != NULL) {
            head_len = (size_t)(end - buf) + 4;
            cl = strcasestr(buf, "\r\ncontent-length:");
            content_length = cl && cl < end ? (size_t)atol(cl + 17) : 0;
            if (head_len + content_length > MAX_REQUEST) {
                answer(fd, 413, "Too Large");
                return;
            }
            if (n >= head_len + content_length)
                break;
        }
        if (n == MAX_REQUEST) {
            answer(fd, 413, "Too Large");
            return;
        }
    }
    target = strchr(buf, ' ');
    sp = target ? strchr(target + 1, ' ') : NULL;
    if (sp == NULL || sp > end) {
        answer(fd, 400, "Bad Request");
        return;
    }
    *sp = '\0';
    target++;
    rc = kpos_webhook_verify(client, (const uint8_t *)target, strlen(target),
                             (const uint8_t *)buf + head_len, content_length, &session_id, &status);
    switch (rc) {
    case KPOS_OK:
        answer(fd, 200, "OK");
        relay(target, buf + head_len, content_length);
        break;
    case KPOS_E_PERMISSION_DENIED:
        answer(fd, 403, "Forbidden");
        break;
    case KPOS_E_BAD_REQUEST:
        answer(fd, 400, "Bad Request");
        break;
    case KPOS_E_NOT_FOUND:
        answer(fd, 404, "Not Found");
        break;
    default:
        answer(fd, 503, "Unavailable");
    }
    if (rc != KPOS_OK)
        fprintf(stderr, "refused %s: %s\n", kpos_result_name(rc), kpos_last_error_message());
    kpos_string_free(session_id);
}

int main(int argc, char **argv)
{
    const char *url = NULL, *secret = NULL;
    char config[1024];
    kpos_client *client = NULL;
    uint16_t http_port = 0, relay_port = 0;
    int http_fd, relay_fd, i;
    pthread_t t;
    for (i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--url"))
            url = argv[i + 1];
        else if (!strcmp(argv[i], "--secret"))
            secret = argv[i + 1];
    }
    if (url == NULL || secret == NULL) {
        fprintf(stderr, "usage: chain_receiver --url API_URL --secret HEX\n");
        return 2;
    }
    for (i = 0; i < MAX_GROUPS; i++)
        group_fd[i] = -1;
    /* Only the secret: no password, no session of its own. */
    snprintf(config, sizeof config,
             "{\"api_url\":\"%s\",\"username\":\"chain-receiver\",\"webhook_secret\":\"%s\"}", url,
             secret);
    if (kpos_client_new(config, &client) != KPOS_OK) {
        fprintf(stderr, "chain_receiver: %s\n", kpos_last_error_message());
        return 1;
    }
    http_fd = listen_any(&http_port);
    relay_fd = listen_any(&relay_port);
    if (http_fd < 0 || relay_fd < 0) {
        perror("chain_receiver: listen");
        return 1;
    }
    printf("http %u\nrelay %u\n", http_port, relay_port);
    fflush(stdout);
    pthread_create(&t, NULL, relay_accept, (void *)(intptr_t)relay_fd);
    for (;;) {
        int fd = accept(http_fd, NULL, NULL);
        if (fd < 0)
            continue;
        serve(client, fd);
        close(fd);
    }
}
