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

/*
 * hsts_policy: the part of mod_hsts that knows nothing of httpd.
 * Parsing and validating a Strict-Transport-Security value (RFC 6797
 * section 6.1), formatting the canonical header, and deciding whether a
 * host name can hold an HSTS entry at all.  Plain C, no APR, so it can be
 * unit-tested and fuzzed on its own.
 */

#ifndef HSTS_POLICY_H
#define HSTS_POLICY_H

#include <stddef.h>

/* Largest max-age accepted: 2^31 - 1 seconds (68 years).  Browsers cap the
 * value far below this anyway; the bound keeps clients that do 32-bit time
 * arithmetic safe and catches typos with extra digits. */
#define HSTS_MAX_AGE_LIMIT 2147483647UL

/* "max-age=2147483647; includeSubDomains; preload" plus NUL fits. */
#define HSTS_HEADER_MAX 64

/* Room for any message hsts_policy_parse() writes. */
#define HSTS_ERR_MAX 256

typedef struct {
    unsigned long max_age;
    int include_subdomains;
    int preload;
} hsts_policy_t;

/* Write a message to err (errlen bytes, NUL-terminated) and return -1:
 * how every parser here reports a bad value. */
int hsts_errorf(char *err, size_t errlen, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* Parse an RFC 6797 header value into *out.  Returns 0 on success; on
 * failure returns -1 and writes a message naming the bad token to err
 * (errlen bytes, always NUL-terminated when errlen > 0). */
int hsts_policy_parse(const char *text, hsts_policy_t *out,
                      char *err, size_t errlen);

/* Write the canonical header value ("max-age=N[; includeSubDomains]
 * [; preload]") to buf.  Returns the length of the value, which is less
 * than HSTS_HEADER_MAX; the output is truncated when len is too small. */
size_t hsts_policy_format(const hsts_policy_t *p, char *buf, size_t len);

/* HSTSOverrideLimits: what a tenant's .htaccess policy may say. */
typedef struct {
    unsigned long min_age;      /* 0 when no lower bound */
    unsigned long max_age;      /* HSTS_MAX_AGE_LIMIT when no upper bound */
    int deny_subdomains;
    int deny_preload;
    int deny_off;
} hsts_limits_t;

/* Parse HSTSOverrideLimits arguments ("max-age=MIN..MAX",
 * "includeSubDomains=allow|deny", "preload=allow|deny", "off=allow|deny"
 * in any order; either end of the range may be left out).  Returns 0, or
 * -1 with a message naming the bad argument in err. */
int hsts_limits_parse(const char *const *args, int nargs,
                      hsts_limits_t *out, char *err, size_t errlen);

/* Bring *p within the limits: max-age raised or lowered to the bound,
 * denied flags dropped.  Returns 0 when nothing changed, else 1 with what
 * changed and which limit applied written to why. */
int hsts_limits_apply(const hsts_limits_t *l, hsts_policy_t *p,
                      char *why, size_t whylen);

/* The limits in HSTSOverrideLimits syntax, for messages and dumps. */
size_t hsts_limits_format(const hsts_limits_t *l, char *buf, size_t len);

/* HSTSRedirect's arguments: on|off [status=301|302|307|308] [port=N]. */
typedef struct {
    int on;
    int status;                 /* 0: chosen per method */
    int port;                   /* 0: 443 */
} hsts_redirect_t;

/* Parse HSTSRedirect arguments.  Returns 0, or -1 with a message naming
 * the bad argument in err. */
int hsts_redirect_parse(const char *const *args, int nargs,
                        hsts_redirect_t *out, char *err, size_t errlen);

/* Non-zero when a path's policy is weaker than its host's: a shorter
 * max-age, or includeSubDomains dropped.  HSTS is host-wide in the browser,
 * so such a path does not really opt out. */
int hsts_policy_weaker(const hsts_policy_t *path, const hsts_policy_t *host);

/* The preload list's header rules (Chromium's hstspreload checker) for a
 * policy that says preload: at most HSTS_FINDINGS_MAX findings, each a
 * problem (the list would refuse the domain) or a warning. */
#define HSTS_PRELOAD_MIN_AGE 31536000UL         /* one year */
#define HSTS_PRELOAD_WARN_AGE 315360000UL       /* ten years */
#define HSTS_FINDINGS_MAX 3

typedef struct {
    int problem;
    const char *kind;           /* which rule, e.g. "preload-max-age" */
    char text[128];
} hsts_finding_t;

int hsts_preload_findings(const hsts_policy_t *p, hsts_finding_t *out);

/* Non-zero when a UA would not note an HSTS host for this name: IPv4 and
 * IPv6 literals (RFC 6797 section 8.1.1), and "localhost" and its
 * subdomains, which a cached entry would break for every local server. */
int hsts_host_is_exempt(const char *host);

/* Non-zero when no host that matches `pattern` (a ServerName, or a
 * ServerAlias with * and ? wildcards) can be exempt: its last label is
 * spelled out, holds a letter and is not "localhost".  A request that
 * reached a vhost by one of its names then needs no look at the Host. */
int hsts_name_never_exempt(const char *pattern);

/* The length of the valid UTF-8 character that `s` starts with (1 to 4;
 * no overlong forms, surrogates or code points above U+10FFFF), or 0. */
size_t hsts_utf8_len(const char *s);

#endif /* HSTS_POLICY_H */
