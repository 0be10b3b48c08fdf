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

#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>

#include "hsts_url.h"

#define HSTS_HOST_MAX  253
#define HSTS_LABEL_MAX 63

static int hsts_is_alnum(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
           || (c >= '0' && c <= '9');
}

static int hsts_is_hex(int c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')
           || (c >= 'A' && c <= 'F');
}

/* An IPv6 literal, with or without its brackets. */
static int hsts_is_ipv6(const char *host)
{
    char addr[64];
    unsigned char bin[16];
    size_t len = strlen(host);

    if (host[0] == '[') {
        if (len < 3 || host[len - 1] != ']') {
            return 0;
        }
        host++;
        len -= 2;
    }
    if (len >= sizeof(addr)) {
        return 0;
    }
    memcpy(addr, host, len);
    addr[len] = '\0';
    return inet_pton(AF_INET6, addr, bin) == 1;
}

int hsts_host_is_valid(const char *host)
{
    size_t len = 0, label = 0;
    const char *c;

    if (strchr(host, ':') || host[0] == '[') {
        return hsts_is_ipv6(host);
    }
    for (c = host; *c; c++, len++) {
        if (*c == '.') {
            if (label == 0) {
                return 0;       /* empty label, or a leading dot */
            }
            label = 0;
        }
        else if (hsts_is_alnum(*c) || *c == '-' || *c == '_') {
            if (++label > HSTS_LABEL_MAX) {
                return 0;
            }
        }
        else {
            return 0;
        }
    }
    /* one final dot is a fully qualified name */
    return len > 0 && len - (host[len - 1] == '.') <= HSTS_HOST_MAX;
}

const char *hsts_url_path(const char *unparsed)
{
    const char *c;

    if (unparsed[0] == '/') {
        return unparsed;
    }
    /* absolute form: scheme ":" ["//" authority], then the path, query */
    for (c = unparsed; hsts_is_alnum(*c) || *c == '+' || *c == '-'
                       || *c == '.'; c++) {
        continue;
    }
    if (c == unparsed || *c != ':') {
        return NULL;
    }
    if (c[1] == '/' && c[2] == '/') {
        return c + 3 + strcspn(c + 3, "/?#");
    }
    return c[1] == '/' ? c + 1 : NULL;
}

size_t hsts_host_len(const char *hostport)
{
    const char *end;

    if (hostport[0] == '[') {
        end = strchr(hostport, ']');
        return end ? (size_t)(end - hostport) + 1 : strlen(hostport);
    }
    return strcspn(hostport, ":");
}

/* A port as apr_parse_addr_port takes it: 1-65535 in digits; else 0. */
static long hsts_port(const char *s)
{
    long n = 0;

    for (; *s; s++) {
        if (*s < '0' || *s > '9' || (n = n * 10 + (*s - '0')) > 65535) {
            return 0;
        }
    }
    return n;
}

size_t hsts_host_canon(char *buf, size_t len, const char *hostport)
{
    size_t n = hsts_host_len(hostport), i;
    const char *port = hostport + n;

    if (n == 0 || n >= len) {
        return 0;
    }
    if (*port && (*port != ':' || hsts_port(port + 1) == 0)) {
        return 0;   /* apr_parse_addr_port refuses it: a 400 */
    }
    memcpy(buf, hostport, n);
    buf[n] = '\0';
    if (!hsts_host_is_valid(buf)) {
        return 0;
    }
    if (buf[0] != '[' && !strchr(buf, ':') && buf[n - 1] == '.') {
        buf[--n] = '\0';
    }
    for (i = 0; i < n; i++) {
        if (buf[i] >= 'A' && buf[i] <= 'Z') {
            buf[i] = (char)(buf[i] - 'A' + 'a');
        }
    }
    return n;
}

/* Bytes that stand for themselves in a URI path or query (RFC 3986:
 * unreserved, sub-delims, ':', '@', '/', '?'); '%' is looked at apart. */
static int hsts_uri_keeps(unsigned char c)
{
    return hsts_is_alnum(c) || (c != '\0' && strchr("-._~!$&'()*+,;=:@/?",
                                                    c) != NULL);
}

size_t hsts_redirect_url(char *buf, size_t len, const char *host, int port,
                         const char *path)
{
    static const char hex[] = "0123456789ABCDEF";
    char head[HSTS_HOST_MAX + 32];
    const unsigned char *p = (const unsigned char *)path;
    size_t n;
    int v6 = strchr(host, ':') != NULL && host[0] != '[';

    if (!hsts_host_is_valid(host)) {
        if (len > 0) {
            buf[0] = '\0';
        }
        return 0;
    }
    n = (size_t)snprintf(head, sizeof(head), "https://%s%s%s", v6 ? "[" : "",
                         host, v6 ? "]" : "");
    if (port && port != 443) {
        n += (size_t)snprintf(head + n, sizeof(head) - n, ":%d", port);
    }
    if (*p != '/') {
        head[n++] = '/';    /* "http://h?q" asked for "/?q" */
    }
    head[n] = '\0';
    if (len > 0) {
        snprintf(buf, len, "%s", head);
    }
#define HSTS_PUT(ch) do { if (n + 1 < len) { buf[n] = (ch); } n++; } \
                     while (0)
    for (; *p; p++) {
        if (hsts_uri_keeps(*p)
            || (*p == '%' && hsts_is_hex(p[1]) && hsts_is_hex(p[2]))) {
            HSTS_PUT((char)*p);
        }
        else {
            HSTS_PUT('%');
            HSTS_PUT(hex[*p >> 4]);
            HSTS_PUT(hex[*p & 15]);
        }
    }
#undef HSTS_PUT
    if (len > 0) {
        buf[n < len ? n : len - 1] = '\0';
    }
    return n;
}
