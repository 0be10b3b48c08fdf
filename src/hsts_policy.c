/* Licensed to the Apache Software Foundation (ASF) under one or more
 * contributor license agreements; and to You under the Apache License,
 * Version 2.0 (the "License"); you may not use this file except in
 * compliance with the License.  You may obtain a copy of the License at
 *
 *     http://www.apache.org/licenses/LICENSE-2.0
 *
 * Unless required by applicable law or agreed to in writing, software
 * distributed under the License is distributed on an "AS IS" BASIS,
 * WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
 * See the License for the specific language governing permissions and
 * limitations under the License.
 */

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "hsts_policy.h"

/* Longest directive name or value echoed back in a message; longer ones
 * are cut so a message always fits HSTS_ERR_MAX. */
#define HSTS_ECHO_MAX 48

typedef struct {
    const char *canonical;
    const char *folded;   /* lower case, without '-', '_' and spaces */
} hsts_known;

static const hsts_known hsts_directives[] = {
    { "max-age", "maxage" },
    { "includeSubDomains", "includesubdomains" },
    { "preload", "preload" },
};

#define HSTS_NDIRECTIVES (sizeof(hsts_directives) / sizeof(hsts_directives[0]))

static int hsts_lower(int c)
{
    return (c >= 'A' && c <= 'Z') ? c - 'A' + 'a' : c;
}

static int hsts_is_tchar(int c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
        || (c >= '0' && c <= '9')) {
        return 1;
    }
    return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static int hsts_is_ows(int c)
{
    return c == ' ' || c == '\t';
}

int hsts_errorf(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    if (errlen > 0) {
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return -1;
}

/* Case-insensitive compare of a (name, len) slice with a C string. */
static int hsts_name_is(const char *name, size_t len, const char *want)
{
    size_t i;

    for (i = 0; i < len; i++) {
        if (want[i] == '\0' || hsts_lower(name[i]) != hsts_lower(want[i])) {
            return 0;
        }
    }
    return want[len] == '\0';
}

/* Edit distance between two short strings, for "did you mean" hints. */
static size_t hsts_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b), i, j;
    size_t row[HSTS_ECHO_MAX + 1];

    if (la > HSTS_ECHO_MAX || lb > HSTS_ECHO_MAX) {
        return (size_t)-1;
    }
    for (j = 0; j <= lb; j++) {
        row[j] = j;
    }
    for (i = 1; i <= la; i++) {
        size_t diag = row[0];

        row[0] = i;
        for (j = 1; j <= lb; j++) {
            size_t up = row[j];
            size_t best = diag + (a[i - 1] == b[j - 1] ? 0 : 1);

            if (up + 1 < best) {
                best = up + 1;
            }
            if (row[j - 1] + 1 < best) {
                best = row[j - 1] + 1;
            }
            diag = up;
            row[j] = best;
        }
    }
    return row[lb];
}

/* The known directive an unknown name was probably meant to be, or NULL. */
static const char *hsts_near_miss(const char *name, size_t len)
{
    char folded[HSTS_ECHO_MAX + 1];
    size_t i, n = 0;

    if (len > HSTS_ECHO_MAX) {
        return NULL;
    }
    for (i = 0; i < len; i++) {
        if (name[i] != '-' && name[i] != '_') {
            folded[n++] = (char)hsts_lower(name[i]);
        }
    }
    folded[n] = '\0';
    for (i = 0; i < HSTS_NDIRECTIVES; i++) {
        size_t d = hsts_distance(folded, hsts_directives[i].folded);

        if (d <= 2 && n >= 4) {
            return hsts_directives[i].canonical;
        }
    }
    return NULL;
}

/* Parse a delta-seconds value; the caller has stripped any quotes. */
static int hsts_parse_max_age(const char *v, size_t len, unsigned long *out,
                              char *err, size_t errlen)
{
    unsigned long n = 0;
    size_t i;
    int shown = len > HSTS_ECHO_MAX ? HSTS_ECHO_MAX : (int)len;

    if (len == 0) {
        return hsts_errorf(err, errlen, "empty max-age value (expected "
                           "max-age=SECONDS, e.g. max-age=31536000)");
    }
    if (v[0] == '+' || v[0] == '-') {
        return hsts_errorf(err, errlen, "max-age value '%.*s' must not have "
                           "a sign", shown, v);
    }
    for (i = 0; i < len; i++) {
        if (v[i] < '0' || v[i] > '9') {
            return hsts_errorf(err, errlen, "max-age value '%.*s' is not a "
                               "number of seconds", shown, v);
        }
        n = n * 10 + (unsigned long)(v[i] - '0');
        if (n > HSTS_MAX_AGE_LIMIT) {
            return hsts_errorf(err, errlen, "max-age value '%.*s' is above "
                               "the limit of %lu seconds", shown, v,
                               HSTS_MAX_AGE_LIMIT);
        }
    }
    *out = n;
    return 0;
}

int hsts_policy_parse(const char *text, hsts_policy_t *out,
                      char *err, size_t errlen)
{
    const char *p;
    int seen[HSTS_NDIRECTIVES] = { 0 };
    char unq[HSTS_ECHO_MAX + 16];

    memset(out, 0, sizeof(*out));
    if (errlen > 0) {
        err[0] = '\0';
    }
    for (p = text; *p; p++) {
        unsigned char c = (unsigned char)*p;

        if ((c < 0x20 && c != '\t') || c == 0x7f) {
            return hsts_errorf(err, errlen, "control character 0x%02x at "
                               "offset %d", c, (int)(p - text));
        }
    }

    p = text;
    for (;;) {
        const char *name, *value = NULL;
        size_t nlen, vlen = 0, k;
        int has_value = 0;

        while (hsts_is_ows(*p)) {
            p++;
        }
        if (*p == '\0') {
            break;
        }
        if (*p == ';') {    /* empty directive: allowed by the grammar */
            p++;
            continue;
        }
        name = p;
        while (hsts_is_tchar(*p)) {
            p++;
        }
        nlen = (size_t)(p - name);
        if (nlen == 0) {
            return hsts_errorf(err, errlen, "expected a directive name at "
                               "'%.*s'", HSTS_ECHO_MAX, p);
        }
        while (hsts_is_ows(*p)) {
            p++;
        }
        if (*p == '=') {
            has_value = 1;
            p++;
            while (hsts_is_ows(*p)) {
                p++;
            }
            if (*p == '"') {
                /* quoted-string with quoted-pairs; keep the unescaped
                 * value only as long as a valid max-age can be */
                size_t n = 0;

                p++;
                while (*p && *p != '"') {
                    if (*p == '\\' && p[1] != '\0') {
                        p++;
                    }
                    if (n == sizeof(unq) - 1) {
                        return hsts_errorf(err, errlen, "quoted value for "
                                           "'%.*s' is too long", (int)nlen,
                                           name);
                    }
                    unq[n++] = *p++;
                }
                if (*p != '"') {
                    return hsts_errorf(err, errlen, "unterminated quoted "
                                       "value for '%.*s'", (int)nlen, name);
                }
                p++;
                unq[n] = '\0';
                value = unq;
                vlen = n;
            }
            else {
                value = p;
                while (hsts_is_tchar(*p)) {
                    p++;
                }
                vlen = (size_t)(p - value);
            }
            while (hsts_is_ows(*p)) {
                p++;
            }
        }
        if (*p != '\0' && *p != ';') {
            return hsts_errorf(err, errlen, "unexpected '%.*s' after "
                               "directive '%.*s'", HSTS_ECHO_MAX / 2, p,
                               nlen > HSTS_ECHO_MAX ? HSTS_ECHO_MAX
                                                    : (int)nlen, name);
        }

        for (k = 0; k < HSTS_NDIRECTIVES; k++) {
            if (hsts_name_is(name, nlen, hsts_directives[k].canonical)) {
                break;
            }
        }
        if (k == HSTS_NDIRECTIVES) {
            const char *hint = hsts_near_miss(name, nlen);
            int shown = nlen > HSTS_ECHO_MAX ? HSTS_ECHO_MAX : (int)nlen;

            if (hint) {
                return hsts_errorf(err, errlen, "unknown directive '%.*s' "
                                   "(did you mean '%s'?)", shown, name, hint);
            }
            return hsts_errorf(err, errlen, "unknown directive '%.*s' "
                               "(known: max-age, includeSubDomains, "
                               "preload)", shown, name);
        }
        if (seen[k]++) {
            return hsts_errorf(err, errlen, "directive '%.*s' given more "
                               "than once", (int)nlen, name);
        }
        if (k == 0) {
            if (!has_value) {
                return hsts_errorf(err, errlen, "'%.*s' needs a value "
                                   "(max-age=SECONDS)", (int)nlen, name);
            }
            if (hsts_parse_max_age(value, vlen, &out->max_age,
                                   err, errlen) != 0) {
                return -1;
            }
        }
        else if (has_value) {
            return hsts_errorf(err, errlen, "'%s' takes no value, got "
                               "'%.*s=%.*s'", hsts_directives[k].canonical,
                               (int)nlen, name,
                               vlen > HSTS_ECHO_MAX ? HSTS_ECHO_MAX
                                                    : (int)vlen, value);
        }
        else if (k == 1) {
            out->include_subdomains = 1;
        }
        else {
            out->preload = 1;
        }
        if (*p == ';') {
            p++;
        }
    }

    if (!seen[0]) {
        return hsts_errorf(err, errlen, "missing max-age in '%.*s' "
                           "(e.g. \"max-age=31536000\")", HSTS_ECHO_MAX,
                           text);
    }
    return 0;
}

size_t hsts_policy_format(const hsts_policy_t *p, char *buf, size_t len)
{
    int n = snprintf(buf, len, "max-age=%lu%s%s", p->max_age,
                     p->include_subdomains ? "; includeSubDomains" : "",
                     p->preload ? "; preload" : "");

    return n < 0 ? 0 : (size_t)n;
}

/* "allow" or "deny" for a limits key; -1 when neither. */
static int hsts_allow_deny(const char *v)
{
    if (hsts_name_is(v, strlen(v), "allow")) {
        return 0;
    }
    if (hsts_name_is(v, strlen(v), "deny")) {
        return 1;
    }
    return -1;
}

static int hsts_parse_bound(const char *v, size_t len, unsigned long *out,
                            char *err, size_t errlen)
{
    char what[HSTS_ERR_MAX];

    if (hsts_parse_max_age(v, len, out, what, sizeof(what)) != 0) {
        return hsts_errorf(err, errlen, "max-age range: %s", what);
    }
    return 0;
}

int hsts_limits_parse(const char *const *args, int nargs,
                      hsts_limits_t *out, char *err, size_t errlen)
{
    static const char *const keys[] = { "max-age", "includeSubDomains",
                                        "preload", "off" };
    int seen[4] = { 0 };
    int i;

    memset(out, 0, sizeof(*out));
    out->max_age = HSTS_MAX_AGE_LIMIT;
    if (nargs == 0) {
        return hsts_errorf(err, errlen, "needs at least one limit, e.g. "
                           "max-age=31536000.. off=deny");
    }
    for (i = 0; i < nargs; i++) {
        const char *a = args[i], *eq = strchr(a, '=');
        size_t klen = eq ? (size_t)(eq - a) : strlen(a);
        int k, deny;

        for (k = 0; k < 4; k++) {
            if (hsts_name_is(a, klen, keys[k])) {
                break;
            }
        }
        if (k == 4 || !eq) {
            return hsts_errorf(err, errlen, "unknown limit '%.*s' (expected "
                               "max-age=MIN..MAX, includeSubDomains=, "
                               "preload=, off= allow|deny)", HSTS_ECHO_MAX, a);
        }
        if (seen[k]++) {
            return hsts_errorf(err, errlen, "'%s' given more than once",
                               keys[k]);
        }
        if (k == 0) {
            const char *range = eq + 1, *dots = strstr(range, "..");

            if (!dots) {
                return hsts_errorf(err, errlen, "max-age limit '%.*s' is not "
                                   "a range (MIN..MAX, MIN.. or ..MAX)",
                                   HSTS_ECHO_MAX, range);
            }
            if (dots > range && hsts_parse_bound(range,
                    (size_t)(dots - range), &out->min_age, err, errlen)) {
                return -1;
            }
            if (dots[2] && hsts_parse_bound(dots + 2, strlen(dots + 2),
                                            &out->max_age, err, errlen)) {
                return -1;
            }
            if (out->min_age > out->max_age) {
                return hsts_errorf(err, errlen, "max-age range '%.*s' has "
                                   "MIN above MAX", HSTS_ECHO_MAX, range);
            }
            continue;
        }
        deny = hsts_allow_deny(eq + 1);
        if (deny < 0) {
            return hsts_errorf(err, errlen, "'%.*s' must be allow or deny",
                               HSTS_ECHO_MAX, a);
        }
        if (k == 1) {
            out->deny_subdomains = deny;
        }
        else if (k == 2) {
            out->deny_preload = deny;
        }
        else {
            out->deny_off = deny;
        }
    }
    return 0;
}

int hsts_limits_apply(const hsts_limits_t *l, hsts_policy_t *p,
                      char *why, size_t whylen)
{
    size_t n = 0;
    int changed = 0;

    if (whylen > 0) {
        why[0] = '\0';
    }
#define HSTS_WHY(...) do { \
        if (n < whylen) { \
            int w = snprintf(why + n, whylen - n, __VA_ARGS__); \
            n += w > 0 ? (size_t)w : 0; \
        } \
        changed = 1; \
    } while (0)
    if (p->max_age < l->min_age) {
        HSTS_WHY("%smax-age %lu raised to %lu", changed ? ", " : "",
                 p->max_age, l->min_age);
        p->max_age = l->min_age;
    }
    else if (p->max_age > l->max_age) {
        HSTS_WHY("%smax-age %lu lowered to %lu", changed ? ", " : "",
                 p->max_age, l->max_age);
        p->max_age = l->max_age;
    }
    if (p->include_subdomains && l->deny_subdomains) {
        HSTS_WHY("%sincludeSubDomains dropped", changed ? ", " : "");
        p->include_subdomains = 0;
    }
    if (p->preload && l->deny_preload) {
        HSTS_WHY("%spreload dropped", changed ? ", " : "");
        p->preload = 0;
    }
#undef HSTS_WHY
    return changed;
}

size_t hsts_limits_format(const hsts_limits_t *l, char *buf, size_t len)
{
    char lo[24] = "", hi[24] = "";
    int n;

    if (l->min_age > 0) {
        snprintf(lo, sizeof(lo), "%lu", l->min_age);
    }
    if (l->max_age < HSTS_MAX_AGE_LIMIT) {
        snprintf(hi, sizeof(hi), "%lu", l->max_age);
    }
    n = snprintf(buf, len, "max-age=%s..%s includeSubDomains=%s "
                 "preload=%s off=%s", lo, hi,
                 l->deny_subdomains ? "deny" : "allow",
                 l->deny_preload ? "deny" : "allow",
                 l->deny_off ? "deny" : "allow");
    return n < 0 ? 0 : (size_t)n;
}

int hsts_policy_weaker(const hsts_policy_t *path, const hsts_policy_t *host)
{
    return path->max_age < host->max_age
           || (host->include_subdomains && !path->include_subdomains);
}

int hsts_preload_findings(const hsts_policy_t *p, hsts_finding_t *out)
{
    int n = 0;

    if (!p->include_subdomains) {
        out[n].problem = 1;
        out[n].kind = "preload-include-subdomains";
        snprintf(out[n++].text, sizeof(out->text),
                 "preload requires includeSubDomains");
    }
    if (p->max_age == 0) {
        out[n].problem = 1;
        out[n].kind = "preload-max-age-zero";
        snprintf(out[n++].text, sizeof(out->text), "max-age=0 with preload: "
                 "a domain leaving the list must drop preload");
    }
    else if (p->max_age < HSTS_PRELOAD_MIN_AGE) {
        out[n].problem = 1;
        out[n].kind = "preload-max-age-short";
        snprintf(out[n++].text, sizeof(out->text), "preload requires "
                 "max-age of at least %lu (1 year), got %lu",
                 HSTS_PRELOAD_MIN_AGE, p->max_age);
    }
    else if (p->max_age > HSTS_PRELOAD_WARN_AGE) {
        out[n].problem = 0;
        out[n].kind = "preload-max-age-long";
        snprintf(out[n++].text, sizeof(out->text), "max-age %lu is more "
                 "than 10 years; the preload checker warns about it",
                 p->max_age);
    }
    return n;
}

/* A decimal number in [lo, hi], digits only; -1 otherwise. */
static long hsts_small_number(const char *v, long lo, long hi)
{
    long n = 0;
    size_t i;

    for (i = 0; v[i]; i++) {
        if (v[i] < '0' || v[i] > '9' || i >= 6) {
            return -1;
        }
        n = n * 10 + (v[i] - '0');
    }
    return i > 0 && n >= lo && n <= hi ? n : -1;
}

int hsts_redirect_parse(const char *const *args, int nargs,
                        hsts_redirect_t *out, char *err, size_t errlen)
{
    int i, seen_status = 0, seen_port = 0;

    memset(out, 0, sizeof(*out));
    if (nargs < 1) {
        return hsts_errorf(err, errlen, "needs on or off");
    }
    if (hsts_name_is(args[0], strlen(args[0]), "on")) {
        out->on = 1;
    }
    else if (!hsts_name_is(args[0], strlen(args[0]), "off")) {
        return hsts_errorf(err, errlen, "expected on or off, got '%.*s'",
                           HSTS_ECHO_MAX, args[0]);
    }
    for (i = 1; i < nargs; i++) {
        const char *a = args[i];
        long n;

        if (!out->on) {
            return hsts_errorf(err, errlen, "'%.*s' makes no sense with off",
                               HSTS_ECHO_MAX, a);
        }
        if (hsts_name_is(a, strlen(a) < 7 ? strlen(a) : 7, "status=")) {
            if (seen_status++) {
                return hsts_errorf(err, errlen, "repeated '%.*s' (status= "
                                   "given more than once)", HSTS_ECHO_MAX,
                                   a);
            }
            n = hsts_small_number(a + 7, 300, 308);
            if (n != 301 && n != 302 && n != 307 && n != 308) {
                return hsts_errorf(err, errlen, "bad '%.*s' (status is 301, "
                                   "302, 307 or 308)", HSTS_ECHO_MAX, a);
            }
            out->status = (int)n;
        }
        else if (hsts_name_is(a, strlen(a) < 5 ? strlen(a) : 5, "port=")) {
            if (seen_port++) {
                return hsts_errorf(err, errlen, "repeated '%.*s' (port= "
                                   "given more than once)", HSTS_ECHO_MAX,
                                   a);
            }
            n = hsts_small_number(a + 5, 1, 65535);
            if (n < 0) {
                return hsts_errorf(err, errlen, "bad '%.*s' (port is "
                                   "1-65535)", HSTS_ECHO_MAX, a);
            }
            out->port = (int)n;
        }
        else {
            return hsts_errorf(err, errlen, "unknown argument '%.*s' "
                               "(expected status=N or port=N)",
                               HSTS_ECHO_MAX, a);
        }
    }
    return 0;
}

int hsts_host_is_exempt(const char *host)
{
    size_t len = strlen(host);
    const char *q;
    char last;

    if (len > 0 && host[len - 1] == '.') {
        len--;      /* a fully qualified "localhost." is still localhost */
    }
    if (len == 0 || host[0] == '[' || memchr(host, ':', len)) {
        return 1;   /* IPv6 literal, bracketed or not */
    }
    /* This runs for every HTTPS response: decide on the last character
     * first.  A valid domain's last label is never all digits, so a name
     * whose last label is all digits is an IPv4 literal. */
    last = host[len - 1];
    if (last >= '0' && last <= '9') {
        for (q = host + len; q > host && q[-1] >= '0' && q[-1] <= '9';
             q--) {
            continue;
        }
        return q == host || q[-1] == '.';
    }
    if ((last == 't' || last == 'T') && len >= 9
        && hsts_name_is(host + len - 9, 9, "localhost")) {
        return len == 9 || host[len - 10] == '.';
    }
    return 0;
}

int hsts_name_never_exempt(const char *pattern)
{
    const char *label = strrchr(pattern, '.');
    const char *q;
    int letter = 0;

    label = label ? label + 1 : pattern;
    if (strpbrk(pattern, ":[") || hsts_name_is(label, strlen(label),
                                               "localhost")) {
        return 0;
    }
    for (q = label; *q; q++) {
        if (*q == '*' || *q == '?') {
            return 0;   /* "*.example.*" could end any way */
        }
        letter |= hsts_lower(*q) >= 'a' && hsts_lower(*q) <= 'z';
    }
    return letter;      /* an all-digit last label is an IPv4 literal */
}

size_t hsts_utf8_len(const char *s)
{
    const unsigned char *u = (const unsigned char *)s;
    unsigned long cp;
    size_t n, i;

    if (u[0] < 0x80) {
        return u[0] ? 1 : 0;
    }
    if (u[0] >= 0xc2 && u[0] <= 0xdf) {
        n = 2;
        cp = u[0] & 0x1f;
    }
    else if (u[0] >= 0xe0 && u[0] <= 0xef) {
        n = 3;
        cp = u[0] & 0x0f;
    }
    else if (u[0] >= 0xf0 && u[0] <= 0xf4) {
        n = 4;
        cp = u[0] & 0x07;
    }
    else {
        return 0;
    }
    for (i = 1; i < n; i++) {
        if ((u[i] & 0xc0) != 0x80) {
            return 0;   /* also stops at the NUL */
        }
        cp = (cp << 6) | (u[i] & 0x3f);
    }
    if ((n == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff)))
        || (n == 4 && (cp < 0x10000 || cp > 0x10ffff))) {
        return 0;
    }
    return n;
}
