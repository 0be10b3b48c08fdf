/* libFuzzer target for every parser of configuration text (HSTSPolicy,
 * HSTSOverrideLimits, HSTSRedirect, HSTSRollout), checking properties, not
 * only the absence of crashes:
 *   - a value that parses formats to a header that parses back to the
 *     same policy, and that header holds no CR, LF, NUL or other control
 *     character;
 *   - limits format to a line that parses back to the same limits;
 *   - accepted redirects and roll-outs are within their documented ranges;
 *   - a rejected value always comes with a message;
 *   - the HSTSRedirect target ('u'): a host that passes the host check
 *     can neither end nor extend the authority, the URL is valid (only
 *     characters a URI may hold, every '%' starting an escape), its
 *     authority is exactly that host, and its path and query decode to
 *     what the client sent; the same host read as an early error's
 *     (hsts_host_canon) is valid, lower case, without final dot, stable.
 * The first input byte picks the parser; the rest is its text (split on
 * spaces into arguments for the argument-list directives). */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hsts_policy.h"
#include "hsts_rollout.h"
#include "hsts_url.h"

#define HSTS_FUZZ_ARGS 8

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void hsts_fuzz_require(int ok, const char *what, const char *text)
{
    if (!ok) {
        fprintf(stderr, "property violated: %s for input [%s]\n", what,
                text);
        abort();
    }
}

static int hsts_fuzz_split(char *text, const char **args)
{
    int n = 0;
    char *save = NULL, *tok;

    for (tok = strtok_r(text, " ", &save); tok && n < HSTS_FUZZ_ARGS;
         tok = strtok_r(NULL, " ", &save)) {
        args[n++] = tok;
    }
    return n;
}

static void hsts_fuzz_policy(const char *text)
{
    hsts_policy_t p, q;
    char err[HSTS_ERR_MAX], header[HSTS_HEADER_MAX];
    size_t len, i;

    err[0] = 'x';
    if (hsts_policy_parse(text, &p, err, sizeof(err)) != 0) {
        hsts_fuzz_require(err[0] != '\0', "rejected without message", text);
        return;
    }
    len = hsts_policy_format(&p, header, sizeof(header));
    hsts_fuzz_require(len < sizeof(header), "header too long", text);
    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char)header[i];

        hsts_fuzz_require(c >= 0x20 && c != 0x7f, "control char in header",
                          text);
    }
    hsts_fuzz_require(hsts_policy_parse(header, &q, err, sizeof(err)) == 0,
                      "formatted header does not parse", text);
    hsts_fuzz_require(p.max_age == q.max_age
                      && p.include_subdomains == q.include_subdomains
                      && p.preload == q.preload, "round trip differs", text);
    hsts_fuzz_require(p.max_age <= HSTS_MAX_AGE_LIMIT, "max-age over limit",
                      text);
}

static void hsts_fuzz_limits(char *text)
{
    const char *args[HSTS_FUZZ_ARGS];
    hsts_limits_t l, m;
    char err[HSTS_ERR_MAX], line[HSTS_ERR_MAX], copy[HSTS_ERR_MAX];
    int n = hsts_fuzz_split(text, args);

    err[0] = 'x';
    if (hsts_limits_parse(args, n, &l, err, sizeof(err)) != 0) {
        hsts_fuzz_require(err[0] != '\0', "rejected without message", "");
        return;
    }
    hsts_fuzz_require(l.min_age <= l.max_age, "min above max", "");
    hsts_limits_format(&l, line, sizeof(line));
    memcpy(copy, line, sizeof(copy));
    n = hsts_fuzz_split(copy, args);
    hsts_fuzz_require(hsts_limits_parse(args, n, &m, err, sizeof(err)) == 0,
                      "formatted limits do not parse", line);
    hsts_fuzz_require(memcmp(&l, &m, sizeof(l)) == 0, "limits round trip",
                      line);
}

static void hsts_fuzz_redirect(char *text)
{
    const char *args[HSTS_FUZZ_ARGS];
    hsts_redirect_t rd;
    char err[HSTS_ERR_MAX];
    int n = hsts_fuzz_split(text, args);

    err[0] = 'x';
    if (hsts_redirect_parse(args, n, &rd, err, sizeof(err)) != 0) {
        hsts_fuzz_require(err[0] != '\0', "rejected without message", "");
        return;
    }
    hsts_fuzz_require(rd.status == 0 || rd.status == 301 || rd.status == 302
                      || rd.status == 307 || rd.status == 308,
                      "status out of range", "");
    hsts_fuzz_require(rd.port >= 0 && rd.port <= 65535, "port out of range",
                      "");
}

static void hsts_fuzz_rollout(char *text)
{
    const char *args[HSTS_FUZZ_ARGS];
    hsts_rollout_t ro;
    char err[HSTS_ERR_MAX];
    int n = hsts_fuzz_split(text, args), k;

    err[0] = 'x';
    if (hsts_rollout_parse(args, n, &ro, err, sizeof(err)) != 0) {
        hsts_fuzz_require(err[0] != '\0', "rejected without message", "");
        return;
    }
    hsts_fuzz_require(ro.rungs >= 1 && ro.rungs <= HSTS_LADDER_MAX
                      && ro.step > 0 && ro.step <= HSTS_STEP_MAX,
                      "rollout out of range", "");
    for (k = 1; k < ro.rungs; k++) {
        hsts_fuzz_require(ro.ladder[k] > ro.ladder[k - 1],
                          "ladder not ascending", "");
    }
    hsts_fuzz_require(hsts_rollout_rung(&ro, ro.start - 1) == -1
                      && hsts_rollout_rung(&ro, ro.start) == 0
                      && hsts_rollout_rung(&ro, ro.start
                                           + ro.step * ro.rungs)
                         == ro.rungs, "rung arithmetic", "");
}

/* A vhost name said to match no exempt host: whatever its wildcards stand
 * for, the host that results is not exempt.  (No ':' stands in: an IPv6
 * literal is a whole Host of its own, with no dot, or with an all-digit
 * IPv4 tail, and such a name never reaches this far.) */
static void hsts_fuzz_host(const char *pattern)
{
    static const char *const stars[] = { "", "a", "1", "0.0.0.1", "2.3",
                                         "localhost", "x.localhost" };
    static const char quests[] = { 'a', '1', '.' };
    char host[512 * 11 + 1];
    size_t k, n;
    const char *p;

    if (!hsts_name_never_exempt(pattern)) {
        return;
    }
    for (k = 0; k < sizeof(stars) / sizeof(stars[0]); k++) {
        n = 0;
        for (p = pattern; *p; p++) {
            if (*p == '*') {
                memcpy(host + n, stars[k], strlen(stars[k]));
                n += strlen(stars[k]);
            }
            else {
                host[n++] = *p == '?' ? quests[k % sizeof(quests)] : *p;
            }
        }
        host[n] = '\0';
        hsts_fuzz_require(!hsts_host_is_exempt(host),
                          "a never-exempt name matched an exempt host", host);
    }
}

static int hsts_fuzz_hex(int c)
{
    return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F')
           || (c >= 'a' && c <= 'f');
}

static int hsts_fuzz_hexval(int c)
{
    return c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;
}

/* Percent-decode `in` into out; a '%' that starts no escape stands for
 * itself.  Returns the length. */
static size_t hsts_fuzz_decode(const char *in, size_t len, char *out)
{
    size_t i, n = 0;

    for (i = 0; i < len; i++) {
        if (in[i] == '%' && i + 2 < len && hsts_fuzz_hex(in[i + 1])
            && hsts_fuzz_hex(in[i + 2])) {
            out[n++] = (char)(hsts_fuzz_hexval(in[i + 1]) * 16
                              + hsts_fuzz_hexval(in[i + 2]));
            i += 2;
        }
        else {
            out[n++] = in[i];
        }
    }
    return n;
}

/* The early-error host (hsts_host_canon): what it keeps is a valid host
 * in lower case, without port or final dot, and keeps itself. */
static void hsts_fuzz_canon(const char *text)
{
    char buf[HSTS_HOST_BUF], again[HSTS_HOST_BUF];
    size_t n = hsts_host_canon(buf, sizeof(buf), text), i;

    if (n == 0) {
        return;
    }
    hsts_fuzz_require(n == strlen(buf) && hsts_host_is_valid(buf),
                      "canonical host not valid", text);
    for (i = 0; i < n; i++) {
        hsts_fuzz_require(buf[i] < 'A' || buf[i] > 'Z',
                          "canonical host not lower case", text);
    }
    hsts_fuzz_require(buf[0] == '[' || strchr(buf, ':')
                      || buf[n - 1] != '.', "canonical host ends in a dot",
                      text);
    hsts_fuzz_require(hsts_host_canon(again, sizeof(again), buf) == n
                      && !strcmp(again, buf), "canonical host changes",
                      text);
}

/* host, a newline, then the request-target */
static void hsts_fuzz_url(char *text, size_t size)
{
    char *path = memchr(text, '\n', size), *c;
    char url[512 * 3 + 600], want[1100], got[1100], authority[300];
    size_t n, wn, gn, an;
    int port = size % 2 ? 0 : 8443, valid;

    if (!path) {
        return;
    }
    *path++ = '\0';
    hsts_fuzz_canon(text);
    valid = hsts_host_is_valid(text);
    if (valid) {
        for (c = text; *c; c++) {
            hsts_fuzz_require(strchr("?#/@%\\ ", *c) == NULL
                              && (unsigned char)*c > 0x20
                              && (unsigned char)*c < 0x7f,
                              "a valid host holds a delimiter", text);
        }
    }
    n = hsts_redirect_url(url, sizeof(url), text, port, path);
    hsts_fuzz_require(valid ? n > 0 && n < sizeof(url) : n == 0,
                      "url length", text);
    hsts_fuzz_require(n < HSTS_URL_MAX(path), "HSTS_URL_MAX too small",
                      text);
    if (!valid) {
        return;
    }
    an = (size_t)snprintf(authority, sizeof(authority), "https://%s%s%s%s",
                          strchr(text, ':') && text[0] != '[' ? "[" : "",
                          text,
                          strchr(text, ':') && text[0] != '[' ? "]" : "",
                          port ? ":8443" : "");
    hsts_fuzz_require(!strncmp(url, authority, an) && url[an] == '/',
                      "authority is not the host", url);
    for (c = url; *c; c++) {
        unsigned char u = (unsigned char)*c;

        hsts_fuzz_require(u > 0x20 && u < 0x7f
                          && strchr("\"<>\\^`{|}#", u) == NULL,
                          "character a URI cannot hold", url);
        if (u == '%') {
            hsts_fuzz_require(hsts_fuzz_hex(c[1]) && hsts_fuzz_hex(c[2]),
                              "bare %", url);
        }
    }
    /* the path and query decode to what was sent ("?q" asked for "/?q") */
    wn = 0;
    if (*path != '/') {
        want[wn++] = '/';
    }
    wn += hsts_fuzz_decode(path, strlen(path), want + wn);
    gn = hsts_fuzz_decode(url + an, strlen(url + an), got);
    hsts_fuzz_require(wn == gn && !memcmp(want, got, wn),
                      "target changed meaning", url);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char text[512];

    if (size < 1 || size > sizeof(text)) {
        return 0;
    }
    memcpy(text, data + 1, size - 1);
    text[size - 1] = '\0';
    if (data[0] == 'h') {
        hsts_fuzz_host(text);
        return 0;
    }
    if (data[0] == 'u') {
        hsts_fuzz_url(text, size - 1);
        return 0;
    }
    switch (data[0] % 4) {
    case 0:
        hsts_fuzz_policy(text);
        break;
    case 1:
        hsts_fuzz_limits(text);
        break;
    case 2:
        hsts_fuzz_redirect(text);
        break;
    default:
        hsts_fuzz_rollout(text);
        break;
    }
    return 0;
}
