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
 * hsts_url: the HSTSRedirect target, built from what the client sent and
 * nothing else that could change its meaning.  Plain C, no APR, so it can
 * be unit-tested and fuzzed on its own.
 */

#ifndef HSTS_URL_H
#define HSTS_URL_H

#include <stddef.h>

/* Non-zero when `host` may stand as the host of a Location URL: a DNS
 * name (labels of letters, digits, '-' and '_', at most 63 bytes each, an
 * optional final dot, 253 bytes in all), or an IP literal as httpd keeps
 * it (IPv4 dotted, IPv6 unbracketed).  Anything that could end or extend
 * the authority ('?', '#', '/', '@', ':' outside IPv6, '%', spaces,
 * 8-bit bytes) is refused. */
int hsts_host_is_valid(const char *host);

/* The request-target as the client sent it, without scheme and authority
 * when it came in absolute form ("http://h/p?q" gives "/p?q", "http:/p"
 * gives "/p"); NULL when it names no path ("*", authority form). */
const char *hsts_url_path(const char *unparsed);

/* The length of the host in a Host header's "host[:port]" (an IPv6
 * literal keeps its brackets). */
size_t hsts_host_len(const char *hostport);

/* Room for hsts_host_canon()'s name: 253 bytes, a final dot, the NUL. */
#define HSTS_HOST_BUF 256

/* The name in a Host header's "host[:port]" (or an absolute URI's host)
 * as httpd's virtual host lookup compares it (vhost.c, fix_hostname):
 * without the port, without one final dot, in lower case.  Written to
 * buf (len bytes, HSTS_HOST_BUF is enough); returns its length, or 0
 * when the host fails hsts_host_is_valid() or the port is not digits
 * (httpd routes no such request to a named vhost). */
size_t hsts_host_canon(char *buf, size_t len, const char *hostport);

/* Write "https://HOST[:PORT]PATH" to buf (len bytes, always
 * NUL-terminated when len > 0) and return the length of the whole URL,
 * like snprintf: call with len 0 to size the buffer; 0 when HOST fails
 * hsts_host_is_valid().  An IPv6 literal is bracketed.  PORT 0 or 443 is
 * left out.  PATH is copied byte for byte, except that bytes a URI cannot
 * hold (controls, space, 8-bit, '#', '"', '<', '>', '\', '^', '`', '{',
 * '|', '}', '[', ']', and a '%' not followed by two hex digits) are
 * percent-encoded: the URL names the same resource and is always valid. */
size_t hsts_redirect_url(char *buf, size_t len, const char *host, int port,
                         const char *path);

/* A buffer that always holds hsts_redirect_url()'s URL for `path`:
 * "https://", a host of at most 254 bytes or a bracketed IPv6 literal,
 * ":65535", a '/', every byte of the path percent-encoded, and the NUL. */
#define HSTS_URL_MAX(path) (8 + 255 + 6 + 1 + 3 * strlen(path) + 1)

#endif /* HSTS_URL_H */
