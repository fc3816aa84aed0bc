/*
 * event_till.c: a till built around an event loop, as a till with a user interface is. The
 * library follows the payment in the background (kpos_session_watch); its listener only hands
 * each status to the till's loop, here through a pipe watched by poll() next to the keyboard.
 * A Win32 till does the same with PostMessage(hwnd, WM_APP, status, 0) (see docs/events.md).
 *
 *   event_till ORDER.json [--language TAG] [--timeout-ms N]
 *
 * Credentials and endpoint come from KLARNA_API_URL, KLARNA_USERNAME, KLARNA_PASSWORD. Output,
 * one `key=value` line per event: session_id, qr_url, payment_link, then per status change
 * status=<STATUS>, display=<cashier's text> and customer=<customer display's text> in the
 * language of --language (a BCP 47 tag such as sv-SE; English by default), and order_id when the
 * payment completed. Pressing Enter cancels the payment, as does the end of --timeout-ms
 * (default 120000).
 *
 * Exit status: 0 COMPLETED; 2 CANCELED, FAILED or EXPIRED; 1 a library error; 64 a mistake on
 * the command line.
 *
 * Build (from the repository root): gcc -std=c99 -Wall -Wextra -Werror -I include
 *     examples/c/event_till.c -L target/debug -lklarna_pos -Wl,-rpath,target/debug
 */

#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "klarna_pos.h"

#define EXIT_COMPLETED 0
#define EXIT_LIBRARY_ERROR 1
#define EXIT_NOT_PAID 2
#define EXIT_USAGE 64

static void emit(const char *key, const char *value)
{
    printf("%s=%s\n", key, value != NULL ? value : "");
    fflush(stdout);
}

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    char *text = NULL;
    long size;

    if (f == NULL)
        return NULL;
    if (fseek(f, 0, SEEK_END) == 0 && (size = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
        (text = malloc((size_t)size + 1)) != NULL) {
        if (fread(text, 1, (size_t)size, f) == (size_t)size) {
            text[size] = '\0';
        } else {
            free(text);
            text = NULL;
        }
    }
    fclose(f);
    return text;
}

/*
 * The listener: runs on the library's listener thread, so it only passes the status on to the
 * loop (a 4-byte write to a pipe is atomic) and returns. Everything else happens in the loop.
 */
static void on_status(void *userdata, kpos_session *session, uint32_t status)
{
    int fd = *(const int *)userdata;
    ssize_t written;
    (void)session;
    do {
        written = write(fd, &status, sizeof status);
    } while (written < 0 && errno == EINTR);
}

/* What the till shows for a status; the exit status once it is final, else -1. */
static int show(kpos_session *session, uint32_t status, const char *language, int *qr_shown)
{
    if (status == KPOS_STATUS_CREATED)
        return -1; /* local, nothing to show yet */
    if (!*qr_shown && kpos_session_qr_url(session) != NULL) {
        emit("qr_url", kpos_session_qr_url(session));
        if (kpos_session_payment_link(session) != NULL)
            emit("payment_link", kpos_session_payment_link(session));
        *qr_shown = 1;
    }
    emit("status", kpos_status_name(status));
    emit("display", kpos_status_display_text_for(status, language));
    emit("customer", kpos_status_customer_text_for(status, language));
    if (!kpos_status_is_terminal(status))
        return -1;
    if (status == KPOS_STATUS_COMPLETED) {
        emit("order_id", kpos_session_order_id(session));
        return EXIT_COMPLETED;
    }
    if (status == KPOS_STATUS_FAILED) {
        /* The id lets Klarna's support find the payment. */
        kpos_result why = kpos_session_failure(session);
        fprintf(stderr, "event_till: session %s failed (%s): %s\n", kpos_session_id(session),
                kpos_result_name(why), kpos_last_error_message());
    }
    return EXIT_NOT_PAID;
}

/*
 * The event loop: statuses from the pipe, Enter from the keyboard, and the till's own deadline
 * as poll()'s timeout. A cancel returns after the listener's final call, so the loop reads the
 * final status (CANCELED, or COMPLETED if the customer was quicker) from the pipe next.
 */
static int run(kpos_session *session, int events, const char *language, long long timeout_ms)
{
    const long long deadline = now_ms() + timeout_ms;
    int keyboard = 1, qr_shown = 0, cancelled = 0;

    for (;;) {
        struct pollfd fds[2];
        long long left = deadline - now_ms();
        int ready;

        fds[0].fd = events;
        fds[0].events = POLLIN;
        fds[1].fd = keyboard ? STDIN_FILENO : -1;
        fds[1].events = POLLIN;
        ready = poll(fds, 2, cancelled ? -1 : (int)(left > 0 ? left : 0));
        if (ready < 0 && errno == EINTR)
            continue;
        if (ready < 0) {
            perror("event_till: poll");
            /* Giving up: the customer must no longer be able to pay. */
            if (kpos_session_cancel(session) != KPOS_OK)
                fprintf(stderr, "event_till: cancel failed: %s\n", kpos_last_error_message());
            return EXIT_LIBRARY_ERROR;
        }
        if (fds[0].revents & POLLIN) {
            uint32_t status;
            int done;
            if (read(events, &status, sizeof status) != (ssize_t)sizeof status)
                continue;
            done = show(session, status, language, &qr_shown);
            if (done >= 0)
                return done;
            continue;
        }
        if (fds[1].revents & (POLLIN | POLLHUP)) {
            char line[64];
            if (fgets(line, sizeof line, stdin) == NULL) {
                keyboard = 0; /* no keyboard (stdin closed): only the deadline cancels */
                continue;
            }
        } else if (ready > 0 || left > 0) {
            continue;
        }
        /* Enter, or the deadline: cancel, as Klarna recommends when the till gives up. */
        if (!cancelled) {
            kpos_result rc = kpos_session_cancel(session);
            cancelled = 1;
            if (rc != KPOS_OK && rc != KPOS_E_CONFLICT) {
                fprintf(stderr, "event_till: cancel failed: %s\n", kpos_last_error_message());
                return EXIT_LIBRARY_ERROR;
            }
        }
    }
}

int main(int argc, char **argv)
{
    const char *order_path = NULL, *language = NULL;
    long long timeout_ms = 120000;
    int pipe_fds[2], exit_code, i;
    kpos_client *client = NULL;
    kpos_session *session = NULL;
    char *order;
    kpos_result rc;

    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--language") == 0 && i + 1 < argc) {
            language = argv[++i];
        } else if (strcmp(argv[i], "--timeout-ms") == 0 && i + 1 < argc) {
            timeout_ms = atoll(argv[++i]);
        } else if (argv[i][0] == '-' || order_path != NULL) {
            order_path = NULL;
            break;
        } else {
            order_path = argv[i];
        }
    }
    if (order_path == NULL || timeout_ms <= 0) {
        fprintf(stderr, "usage: event_till ORDER.json [--language TAG] [--timeout-ms N]\n");
        return EXIT_USAGE;
    }
    if ((order = read_file(order_path)) == NULL) {
        fprintf(stderr, "event_till: cannot read %s\n", order_path);
        return EXIT_USAGE;
    }
    if (pipe(pipe_fds) != 0) {
        perror("event_till: pipe");
        free(order);
        return EXIT_LIBRARY_ERROR;
    }

    rc = kpos_client_new(NULL, &client);
    if (rc == KPOS_OK)
        rc = kpos_session_create(client, order, &session);
    free(order);
    if (rc != KPOS_OK) {
        fprintf(stderr, "event_till: %s: %s\n", kpos_result_name(rc), kpos_last_error_message());
        kpos_client_free(client);
        return EXIT_LIBRARY_ERROR;
    }
    emit("session_id", kpos_session_id(session));

    /* From here on the library reports every change; the loop never blocks on the network. */
    rc = kpos_session_watch(session, on_status, &pipe_fds[1]);
    if (rc != KPOS_OK) {
        fprintf(stderr, "event_till: %s: %s\n", kpos_result_name(rc), kpos_last_error_message());
        exit_code = EXIT_LIBRARY_ERROR;
    } else {
        exit_code = run(session, pipe_fds[0], language, timeout_ms);
    }

    /* Freeing the session ends the watch: no listener call after this returns, so the pipe can
     * be closed safely. */
    kpos_session_free(session);
    kpos_client_free(client);
    close(pipe_fds[0]);
    close(pipe_fds[1]);
    return exit_code;
}
