/*
 * coldstart: what a till pays once at start-up: loading the library (dlopen), creating a
 * client, and the first call (create a session: the first connection included).
 *
 *   coldstart PATH/libklarna_pos.so URL
 *
 * Run it as a fresh process each time; prints one line of `key=value` timings.
 */

#define _GNU_SOURCE

#include <dlfcn.h>

#include "bench.h"
#include "klarna_pos.h"

typedef kpos_result (*client_new_fn)(const char *, kpos_client **);
typedef kpos_result (*session_create_fn)(kpos_client *, const char *, kpos_session **);

int main(int argc, char **argv)
{
    char config[512];
    kpos_client *client = NULL;
    kpos_session *session = NULL;
    double t0, t1, t2, t3;
    void *lib;
    client_new_fn client_new;
    session_create_fn session_create;

    if (argc != 3) {
        fprintf(stderr, "usage: coldstart LIBRARY URL\n");
        return 64;
    }
    snprintf(config, sizeof config,
             "{\"api_url\":\"%s\",\"username\":\"test_user\",\"password\":\"test_password\"}",
             argv[2]);
    t0 = now_us();
    lib = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    if (lib == NULL) {
        fprintf(stderr, "dlopen: %s\n", dlerror());
        return 1;
    }
    *(void **)&client_new = dlsym(lib, "kpos_client_new");
    *(void **)&session_create = dlsym(lib, "kpos_session_create");
    t1 = now_us();
    if (client_new == NULL || session_create == NULL || client_new(config, &client) != KPOS_OK) {
        fprintf(stderr, "client could not be created\n");
        return 1;
    }
    t2 = now_us();
    if (session_create(client, ORDER_JSON, &session) != KPOS_OK) {
        fprintf(stderr, "first session could not be created\n");
        return 1;
    }
    t3 = now_us();
    printf("load_us=%.0f client_us=%.0f first_call_us=%.0f total_us=%.0f\n", t1 - t0, t2 - t1,
           t3 - t2, t3 - t0);
    return 0;
}
