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
 * The lockout rules that know nothing of httpd or OpenSSL (see
 * hsts_lockout.h).  Plain C99, so the unit tests build without httpd.
 */

#include <string.h>

#include "hsts_lockout.h"
#include "hsts_rollout.h"

static int hsts_lc(int c)
{
    return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

/* Length of a name without one final dot. */
static size_t hsts_name_len(const char *s)
{
    size_t n = strlen(s);

    return n && s[n - 1] == '.' ? n - 1 : n;
}

static int hsts_same(const char *a, const char *b, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        if (hsts_lc((unsigned char)a[i]) != hsts_lc((unsigned char)b[i])) {
            return 0;
        }
    }
    return 1;
}

int hsts_dns_covers(const char *pattern, const char *host)
{
    size_t plen = hsts_name_len(pattern), hlen = hsts_name_len(host);
    const char *rest, *dot;
    size_t rlen;

    if (!plen || !hlen) {
        return 0;
    }
    if (pattern[0] != '*') {
        return plen == hlen && !memchr(pattern, '*', plen)
               && hsts_same(pattern, host, plen);
    }
    /* "*." then at least two labels, no second star */
    if (plen < 2 || pattern[1] != '.') {
        return 0;
    }
    rest = pattern + 1;                 /* ".example.com" */
    rlen = plen - 1;
    if (memchr(rest, '*', rlen) || !memchr(rest + 1, '.', rlen - 1)
        || rest[rlen - 1] == '.' || rest[1] == '.') {
        return 0;
    }
    /* exactly one label before rest: no dot in it, and not empty */
    if (hlen <= rlen) {
        return 0;
    }
    dot = memchr(host, '.', hlen);
    return dot && (size_t)(dot - host) == hlen - rlen && dot != host
           && hsts_same(dot, rest, rlen);
}

int hsts_name_under(const char *name, const char *domain)
{
    size_t n = hsts_name_len(name), d = hsts_name_len(domain);

    if (!d || n < d) {
        return 0;
    }
    if (n == d) {
        return hsts_same(name, domain, d);
    }
    return name[n - d - 1] == '.' && hsts_same(name + n - d, domain, d);
}

long long hsts_epoch(int year, int month, int day, int hour, int min,
                     int sec)
{
    return hsts_days_from_civil(year, month, day) + hour * 3600LL
           + min * 60LL + sec;
}

long long hsts_days_left(long long t, long long now)
{
    long long left = t - now;

    return left >= 0 ? left / 86400 : -((-left + 86399) / 86400);
}

int hsts_validity(long long not_before, long long not_after, long long now,
                  int expiry_days, long long *days_left)
{
    long long left = not_after - now;

    if (days_left) {
        *days_left = hsts_days_left(not_after, now);
    }
    if (now > not_after) {
        return HSTS_VALID_EXPIRED;
    }
    if (now < not_before) {
        return HSTS_VALID_NOT_YET;
    }
    return left < (long long)expiry_days * 86400 ? HSTS_VALID_EXPIRING
                                                  : HSTS_VALID_OK;
}

void hsts_ymd(long long t, char *buf)
{
    long long z = (t >= 0 ? t : t - 86399) / 86400 + 719468;
    long long era = (z >= 0 ? z : z - 146096) / 146097;
    long long doe = z - era * 146097;
    long long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    long long doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    long long mp = (5 * doy + 2) / 153;
    int d = (int)(doy - (153 * mp + 2) / 5 + 1);
    int m = (int)(mp < 10 ? mp + 3 : mp - 9);
    long long y = yoe + era * 400 + (m <= 2);

    int year = y < 0 ? 0 : y > 9999 ? 9999 : (int)y;

    buf[0] = (char)('0' + year / 1000);
    buf[1] = (char)('0' + year / 100 % 10);
    buf[2] = (char)('0' + year / 10 % 10);
    buf[3] = (char)('0' + year % 10);
    buf[4] = '-';
    buf[5] = (char)('0' + m / 10);
    buf[6] = (char)('0' + m % 10);
    buf[7] = '-';
    buf[8] = (char)('0' + d / 10);
    buf[9] = (char)('0' + d % 10);
    buf[10] = '\0';
}
