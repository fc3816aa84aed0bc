/*
 * sim_control.h: a tiny HTTP/1.1 client for the simulator's control endpoints (/_sim/...),
 * so that C test programs can play the customer (scan, approve, fail, ...) and read the
 * simulator's records. POSIX sockets, one blocking connection per request; the simulator's
 * base URL (http://HOST:PORT) comes from KLARNA_API_URL.
 *
 * Define _POSIX_C_SOURCE (200809L) before including any system header.
 */

#ifndef SIM_CONTROL_H
#define SIM_CONTROL_H

#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

/* Splits KLARNA_API_URL into host and port; 0 when it is not an http://HOST:PORT URL. */
static inline int sim_address(char *host, size_t host_size, char *port, size_t port_size)
{
    const char *url = getenv("KLARNA_API_URL");
    const char *colon;
    const char *end;

    if (url == NULL || strncmp(url, "http://", 7) != 0)
        return 0;
    url += 7;
    colon = strchr(url, ':');
    if (colon == NULL || (size_t)(colon - url) >= host_size)
        return 0;
    memcpy(host, url, (size_t)(colon - url));
    host[colon - url] = '\0';
    end = colon + 1 + strspn(colon + 1, "0123456789");
    if (end == colon + 1 || (size_t)(end - colon - 1) >= port_size)
        return 0;
    memcpy(port, colon + 1, (size_t)(end - colon - 1));
    port[end - colon - 1] = '\0';
    return 1;
}

/*
 * Sends `method path` with an optional JSON body and reads the whole answer. The answer's body
 * goes to body_out (NUL-terminated, cut at size - 1) when body_out is not NULL. Returns the HTTP
 * status, or -1 when the simulator could not be reached or answered nonsense.
 */
static inline int sim_request(const char *method, const char *path, const char *json_body,
                              char *body_out, size_t size)
{
    char host[256], port[16], head[1024];
    char answer[65536];
    struct addrinfo hints, *addrs = NULL;
    struct timeval timeout = {10, 0};
    size_t len = 0;
    int fd = -1, status = -1, head_len;
    const char *body_start;

    if (body_out != NULL && size > 0)
        body_out[0] = '\0';
    if (!sim_address(host, sizeof host, port, sizeof port))
        return -1;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    if (getaddrinfo(host, port, &hints, &addrs) != 0)
        return -1;
    fd = socket(addrs->ai_family, addrs->ai_socktype, addrs->ai_protocol);
    if (fd < 0 || connect(fd, addrs->ai_addr, addrs->ai_addrlen) != 0)
        goto done;
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);

    if (json_body == NULL)
        json_body = "";
    head_len = snprintf(head, sizeof head,
                        "%s %s HTTP/1.1\r\nHost: %s:%s\r\nConnection: close\r\n"
                        "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n",
                        method, path, host, port, strlen(json_body));
    if (head_len <= 0 || (size_t)head_len >= sizeof head)
        goto done;
    if (send(fd, head, (size_t)head_len, 0) != head_len ||
        send(fd, json_body, strlen(json_body), 0) != (ssize_t)strlen(json_body))
        goto done;

    /* Connection: close, so the answer ends where the stream ends. */
    for (;;) {
        ssize_t got = recv(fd, answer + len, sizeof answer - 1 - len, 0);
        if (got < 0)
            goto done;
        if (got == 0 || len + (size_t)got >= sizeof answer - 1) {
            len += (size_t)(got > 0 ? got : 0);
            break;
        }
        len += (size_t)got;
    }
    answer[len] = '\0';
    if (sscanf(answer, "HTTP/1.%*d %d", &status) != 1) {
        status = -1;
        goto done;
    }
    body_start = strstr(answer, "\r\n\r\n");
    if (body_out != NULL && size > 0 && body_start != NULL)
        snprintf(body_out, size, "%s", body_start + 4);

done:
    if (fd >= 0)
        close(fd);
    freeaddrinfo(addrs);
    return status;
}

/* POST to a control endpoint, e.g. sim_post("/_sim/sessions/ID/approve", "{}"). */
static inline int sim_post(const char *path, const char *json_body)
{
    return sim_request("POST", path, json_body, NULL, 0);
}

/* GET a control endpoint's JSON into body_out. */
static inline int sim_get(const char *path, char *body_out, size_t size)
{
    return sim_request("GET", path, NULL, body_out, size);
}

/* POST to /_sim/sessions/{session_id}/{action}; returns the HTTP status. */
static inline int sim_customer(const char *session_id, const char *action, const char *json_body)
{
    char path[256];
    snprintf(path, sizeof path, "/_sim/sessions/%s/%s", session_id, action);
    return sim_post(path, json_body);
}

/* The integer after `"key":` in compact JSON (the first occurrence), or -1. */
static inline long sim_json_int(const char *json, const char *key)
{
    char pattern[128];
    const char *p;

    snprintf(pattern, sizeof pattern, "\"%s\":", key);
    p = strstr(json, pattern);
    if (p == NULL)
        return -1;
    p += strlen(pattern);
    if (*p < '0' || *p > '9')
        return -1;
    return strtol(p, NULL, 10);
}

/* Copies the string after `"key":"` in compact JSON (no escapes expected) into out; 1 when
 * found. */
static inline int sim_json_str(const char *json, const char *key, char *out, size_t size)
{
    char pattern[128];
    const char *p, *end;

    out[0] = '\0';
    snprintf(pattern, sizeof pattern, "\"%s\":\"", key);
    p = strstr(json, pattern);
    if (p == NULL)
        return 0;
    p += strlen(pattern);
    end = strchr(p, '"');
    if (end == NULL || (size_t)(end - p) >= size)
        return 0;
    memcpy(out, p, (size_t)(end - p));
    out[end - p] = '\0';
    return 1;
}

/* One counter of GET /_sim/stats ("connections", "create_requests", "polls", ...), or -1. */
static inline long sim_stat(const char *name)
{
    char stats[1024];
    if (sim_get("/_sim/stats", stats, sizeof stats) != 200)
        return -1;
    return sim_json_int(stats, name);
}

/* GET /_sim/sessions/{id} into out; returns the HTTP status. */
static inline int sim_session(const char *session_id, char *out, size_t size)
{
    char path[256];
    snprintf(path, sizeof path, "/_sim/sessions/%s", session_id);
    return sim_get(path, out, size);
}

#endif /* SIM_CONTROL_H */
