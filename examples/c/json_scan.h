/*
 * json_scan.h: just enough JSON reading for the example tills, which only read the library's
 * own compact answers (kpos_order_get, kpos_journal_pending). A real till would use its JSON
 * library; these helpers keep the examples free of dependencies.
 *
 * Values are handled as pointers into the text: a "value" pointer points at the first character
 * of a JSON value.
 */
#ifndef KPOS_EXAMPLE_JSON_SCAN_H
#define KPOS_EXAMPLE_JSON_SCAN_H

#include <stdlib.h>
#include <string.h>

static inline const char *js_ws(const char *p) {
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r') p++;
    return p;
}

/* The character after the value starting at p (or after a string's closing quote). */
static inline const char *js_skip(const char *p) {
    int depth = 0;
    p = js_ws(p);
    do {
        if (*p == '"') {
            for (p++; *p && *p != '"'; p++)
                if (*p == '\\' && p[1]) p++;
            if (*p) p++;
        } else if (*p == '{' || *p == '[') {
            depth++;
            p++;
        } else if (*p == '}' || *p == ']') {
            depth--;
            p++;
        } else if (depth == 0) {
            while (*p && *p != ',' && *p != '}' && *p != ']' && *p != ' ' && *p != '\n') p++;
        } else if (*p) {
            p++;
        }
        if (depth > 0) p = js_ws(p);
    } while (depth > 0 && *p);
    return p;
}

/* The value of member `key` of the object at obj, or NULL. */
static inline const char *js_get(const char *obj, const char *key) {
    size_t n = strlen(key);
    const char *p = js_ws(obj);
    if (*p != '{') return NULL;
    p = js_ws(p + 1);
    while (*p == '"') {
        const char *name = p + 1, *end = js_skip(p);
        p = js_ws(end);
        if (*p != ':') return NULL;
        p = js_ws(p + 1);
        if ((size_t)(end - 1 - name) == n && strncmp(name, key, n) == 0) return p;
        p = js_ws(js_skip(p));
        if (*p != ',') return NULL;
        p = js_ws(p + 1);
    }
    return NULL;
}

/* Item `index` of the array at arr, or NULL. */
static inline const char *js_item(const char *arr, int index) {
    const char *p = js_ws(arr);
    if (*p != '[') return NULL;
    p = js_ws(p + 1);
    for (; *p && *p != ']'; index--) {
        if (index == 0) return p;
        p = js_ws(js_skip(p));
        if (*p == ',') p = js_ws(p + 1);
    }
    return NULL;
}

/* A malloc'd copy of the raw text of the value at v (NULL when v is NULL). */
static inline char *js_raw(const char *v) {
    size_t n;
    char *out;
    if (!v) return NULL;
    v = js_ws(v);
    n = (size_t)(js_skip(v) - v);
    out = malloc(n + 1);
    if (!out) return NULL;
    memcpy(out, v, n);
    out[n] = '\0';
    return out;
}

/* Copies the string value at v into buf, decoding the common escapes; "" when v is not a
 * string. Non-ASCII \u escapes become '?'. */
static inline const char *js_str(const char *v, char *buf, size_t size) {
    size_t n = 0;
    buf[0] = '\0';
    if (!v || *(v = js_ws(v)) != '"') return buf;
    for (v++; *v && *v != '"' && n + 1 < size; v++) {
        char c = *v;
        if (c == '\\' && v[1]) {
            v++;
            switch (*v) {
            case 'n': c = '\n'; break;
            case 't': c = '\t'; break;
            case 'r': c = '\r'; break;
            case 'b': c = '\b'; break;
            case 'f': c = '\f'; break;
            case 'u': {
                unsigned long cp = strtoul((char[5]){v[1], v[2], v[3], v[4], 0}, NULL, 16);
                c = cp < 0x80 ? (char)cp : '?';
                v += 4;
                break;
            }
            default: c = *v; break;
            }
        }
        buf[n++] = c;
    }
    buf[n] = '\0';
    return buf;
}

/* Whether the value at v is JSON null (or absent). */
static inline int js_is_null(const char *v) {
    return !v || strncmp(js_ws(v), "null", 4) == 0;
}

#endif
