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

#include "hsts_policy.h"
#include "hsts_rollout.h"

#define HSTS_ECHO_MAX 48

long long hsts_days_from_civil(int y, int m, int d)
{
    long long era, yoe, doy, doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return (era * 146097 + doe - 719468) * 86400;
}

static int hsts_digits(const char *s, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return 0;
        }
    }
    return n > 0;
}

static int hsts_num(const char *s, size_t n)
{
    int v = 0;
    size_t i;

    for (i = 0; i < n; i++) {
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

static int hsts_parse_date(const char *v, long long *out,
                           char *err, size_t errlen)
{
    static const int mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31,
                                 30, 31 };
    int y, m, d, leap;

    if (strlen(v) != 10 || v[4] != '-' || v[7] != '-'
        || !hsts_digits(v, 4) || !hsts_digits(v + 5, 2)
        || !hsts_digits(v + 8, 2)) {
        return hsts_errorf(err, errlen, "start date '%.*s' is not "
                           "YYYY-MM-DD", HSTS_ECHO_MAX, v);
    }
    y = hsts_num(v, 4);
    m = hsts_num(v + 5, 2);
    d = hsts_num(v + 8, 2);
    leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (y < 1970 || m < 1 || m > 12 || d < 1 || d > mdays[m - 1]
        || (m == 2 && d == 29 && !leap)) {
        return hsts_errorf(err, errlen, "start date '%s' is not a valid "
                           "date", v);
    }
    *out = hsts_days_from_civil(y, m, d);
    return 0;
}

static int hsts_parse_step(const char *v, long long *out,
                           char *err, size_t errlen)
{
    size_t n = strlen(v);
    long long unit = 1, value = 0;
    size_t i;

    if (n > 0) {
        switch (v[n - 1]) {
        case 's': n--; break;
        case 'm': unit = 60; n--; break;
        case 'h': unit = 3600; n--; break;
        case 'd': unit = 86400; n--; break;
        case 'w': unit = 7 * 86400; n--; break;
        default: break;
        }
    }
    if (!hsts_digits(v, n) || n > 12) {
        return hsts_errorf(err, errlen, "step '%.*s' is not a duration "
                           "(a number with an s, m, h, d or w suffix, "
                           "e.g. 7d)", HSTS_ECHO_MAX, v);
    }
    for (i = 0; i < n; i++) {
        value = value * 10 + (v[i] - '0');
    }
    value *= unit;
    if (value <= 0 || value > HSTS_STEP_MAX) {
        return hsts_errorf(err, errlen, "step '%s' must be more than 0 "
                           "and at most 3650d", v);
    }
    *out = value;
    return 0;
}

static int hsts_parse_ladder(const char *v, hsts_rollout_t *ro,
                             char *err, size_t errlen)
{
    const char *p = v;

    ro->rungs = 0;
    for (;;) {
        const char *end = strchr(p, ',');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        unsigned long value = 0;
        size_t i;

        if (!hsts_digits(p, n) || n > 10) {
            return hsts_errorf(err, errlen, "ladder value '%.*s' is not "
                               "a number of seconds", n > HSTS_ECHO_MAX
                               ? HSTS_ECHO_MAX : (int)n, p);
        }
        for (i = 0; i < n; i++) {
            value = value * 10 + (unsigned long)(p[i] - '0');
        }
        if (value > HSTS_MAX_AGE_LIMIT) {
            return hsts_errorf(err, errlen, "ladder value '%.*s' is above "
                               "the limit of %lu seconds", (int)n, p,
                               HSTS_MAX_AGE_LIMIT);
        }
        if (ro->rungs > 0 && value <= ro->ladder[ro->rungs - 1]) {
            return hsts_errorf(err, errlen, "ladder must ascend: '%lu' "
                               "after '%lu'", value,
                               ro->ladder[ro->rungs - 1]);
        }
        if (ro->rungs == HSTS_LADDER_MAX) {
            return hsts_errorf(err, errlen, "ladder has more than %d "
                               "rungs", HSTS_LADDER_MAX);
        }
        ro->ladder[ro->rungs++] = value;
        if (!end) {
            return 0;
        }
        p = end + 1;
    }
}

int hsts_rollout_parse(const char *const *args, int nargs,
                       hsts_rollout_t *out, char *err, size_t errlen)
{
    static const unsigned long ladder[] = { 300, 604800, 2592000,
                                            31536000 };
    int i, have_start = 0, have_step = 0, have_ladder = 0;

    memset(out, 0, sizeof(*out));
    out->step = HSTS_STEP_DEFAULT;
    memcpy(out->ladder, ladder, sizeof(ladder));
    out->rungs = (int)(sizeof(ladder) / sizeof(ladder[0]));

    for (i = 0; i < nargs; i++) {
        const char *a = args[i];

        if (!strncmp(a, "start=", 6)) {
            if (have_start++) {
                return hsts_errorf(err, errlen, "start given twice");
            }
            if (hsts_parse_date(a + 6, &out->start, err, errlen)) {
                return -1;
            }
        }
        else if (!strncmp(a, "step=", 5)) {
            if (have_step++) {
                return hsts_errorf(err, errlen, "step given twice");
            }
            if (hsts_parse_step(a + 5, &out->step, err, errlen)) {
                return -1;
            }
        }
        else if (!strncmp(a, "ladder=", 7)) {
            if (have_ladder++) {
                return hsts_errorf(err, errlen, "ladder given twice");
            }
            if (hsts_parse_ladder(a + 7, out, err, errlen)) {
                return -1;
            }
        }
        else {
            return hsts_errorf(err, errlen, "unknown argument '%.*s' "
                               "(expected start=YYYY-MM-DD, step=, "
                               "ladder=)", HSTS_ECHO_MAX, a);
        }
    }
    if (!have_start) {
        return hsts_errorf(err, errlen, "start=YYYY-MM-DD is required");
    }
    return 0;
}

int hsts_rollout_rung(const hsts_rollout_t *ro, long long now)
{
    long long k;

    if (now < ro->start) {
        return -1;
    }
    k = (now - ro->start) / ro->step;
    return k >= ro->rungs ? ro->rungs : (int)k;
}

int hsts_rollout_state(const hsts_rollout_t *ro, long long now,
                       unsigned long target)
{
    int k = hsts_rollout_rung(ro, now);

    /* max-age=0 is a revocation: it goes out whatever the roll-out says */
    if (target == 0
        || (k >= 0 && k < ro->rungs && ro->ladder[k] >= target)) {
        return ro->rungs;
    }
    return k;
}

long long hsts_rollout_begins(const hsts_rollout_t *ro, int k)
{
    return ro->start + k * ro->step;
}
