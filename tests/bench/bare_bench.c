/*
 * bare_bench: the least a client can do for the benchmark's work, to show what the server and
 * the kernel cost both real clients alike. One blocking TCP socket (TCP_NODELAY), the create
 * request's bytes built once, the status read's request line built from the answer, each answer
 * read by its Content-Length. No TLS, no retries, no checks beyond finding result_url and the
 * status: not a till, a floor.
 *
 *   bare_bench URL seq N          N x (create a session + one status read)
 *
 * URL must be http://127.0.0.1:PORT (the simulator on loopback). One line of `key=value`
 * results on stdout, like the other two sides.
 */

#define _GNU_SOURCE

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bench.h"

static int fd = -1;
static char answer[65536];

/* Sends `len` bytes and reads one answer into `answer` (NUL-terminated); 0 on success. */
static int roundtrip(const char *request, size_t len)
{
    size_t got = 0, want = 0;
    if (send(fd, request, len, MSG_NOSIGNAL) != (ssize_t)len)
        return -1;
    for (;;) {
        ssize_t n = recv(fd, answer + got, sizeof answer - 1 - got, 0);
        char *end, *length;
        if (n <= 0)
            return -1;
        got += (size_t)n;
        answer[got] = '\0';
        if (want == 0) {
            end = strstr(answer, "\r\n\r\n");
            if (end == NULL)
                continue;
            length = strcasestr(answer, "\r\ncontent-length:");
            if (length == NULL || length > end)
                return -1;
            want = (size_t)(end + 4 - answer) + strtoul(length + 17, NULL, 10);
            if (want >= sizeof answer)
                return -1;
        }
        if (got >= want)
            return strncmp(answer, "HTTP/1.1 200 ", 13) == 0 ? 0 : -1;
    }
}

static void fail(const char *what)
{
    fprintf(stderr, "%s failed: %s\n", what, answer);
    exit(1);
}

int main(int argc, char **argv)
{
    static const char *const AUTH = "dGVzdF91c2VyOnRlc3RfcGFzc3dvcmQ="; /* test_user:test_password */
    static char body[1024], create[4096], status[1024];
    const char *host;
    struct sockaddr_in addr;
    double *lat, start = 0, total, mid;
    int one = 1, port, n, i, create_len;
    if (argc < 4 || strcmp(argv[2], "seq") != 0 || strncmp(argv[1], "http://127.0.0.1:", 17) != 0) {
        fprintf(stderr, "usage: bare_bench http://127.0.0.1:PORT seq N\n");
        return 64;
    }
    host = argv[1] + 7;
    port = atoi(argv[1] + 17);
    n = atoi(argv[3]);
    /* The order the library sends: the till's fields plus the in-store distribution. */
    snprintf(body, sizeof body, "%.*s,\"acquiring_channel\":\"in_store\","
             "\"distribution\":{\"method\":\"one_qr\"}}",
             (int)strlen(ORDER_JSON) - 1, ORDER_JSON);
    create_len = snprintf(create, sizeof create,
                          "POST /payments/v1/sessions HTTP/1.1\r\nHost: %s\r\n"
                          "Authorization: Basic %s\r\nAccept: application/json\r\n"
                          "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
                          host, AUTH, strlen(body), body);
    fd = socket(AF_INET, SOCK_STREAM, 0);
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&addr, sizeof addr) != 0) {
        perror("connect");
        return 1;
    }
    lat = malloc(sizeof(double) * (size_t)n);
    for (i = -1; i < n; i++) { /* i = -1: the first pair, not timed */
        double s = now_us();
        char *url, *path, *end;
        int status_len;
        if (i == 0)
            start = s;
        if (roundtrip(create, (size_t)create_len) != 0)
            fail("create");
        url = strstr(answer, "\"result_url\":\"");
        if (url == NULL || (end = strchr(url + 14, '"')) == NULL ||
            (path = strchr(url + 14 + 8, '/')) == NULL || path > end)
            fail("create");
        status_len = snprintf(status, sizeof status,
                              "GET %.*s HTTP/1.1\r\nHost: %s\r\nAuthorization: Basic %s\r\n"
                              "Accept: application/json\r\n\r\n",
                              (int)(end - path), path, host, AUTH);
        if (roundtrip(status, (size_t)status_len) != 0 ||
            strstr(answer, "\"status\":\"DISTRIBUTED\"") == NULL)
            fail("status read");
        if (i >= 0)
            lat[i] = now_us() - s;
    }
    total = now_us() - start;
    mid = median(lat, (size_t)n);
    printf("side=bare mode=seq n=%d total_ms=%.1f median_us=%.1f p90_us=%.1f p99_us=%.1f\n", n,
           total / 1000.0, mid, percentile(lat, (size_t)n, 90), percentile(lat, (size_t)n, 99));
    free(lat);
    close(fd);
    return 0;
}
