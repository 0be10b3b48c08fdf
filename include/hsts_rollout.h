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
 * hsts_rollout: staged max-age roll-out, as stateless wall-clock
 * arithmetic.  Every server with the same HSTSRollout line computes the
 * same rung at the same moment; nothing is stored.  No httpd, no APR.
 */

#ifndef HSTS_ROLLOUT_H
#define HSTS_ROLLOUT_H

#include <stddef.h>

#define HSTS_LADDER_MAX 16
#define HSTS_STEP_DEFAULT (7LL * 86400)
/* Ten years: a longer step is a typo, not a roll-out. */
#define HSTS_STEP_MAX (3650LL * 86400)

typedef struct {
    long long start;            /* seconds since the epoch, 00:00 UTC */
    long long step;             /* seconds per rung */
    unsigned long ladder[HSTS_LADDER_MAX];
    int rungs;
} hsts_rollout_t;

/* Parse the arguments of HSTSRollout ("start=YYYY-MM-DD", "step=7d",
 * "ladder=300,604800,..." in any order).  Returns 0, or -1 with a message
 * naming the bad argument in err. */
int hsts_rollout_parse(const char *const *args, int nargs,
                       hsts_rollout_t *out, char *err, size_t errlen);

/* The rung in force at `now` (seconds since the epoch): -1 before start,
 * 0 .. rungs-1 on the ladder, rungs once the ladder has been climbed. */
int hsts_rollout_rung(const hsts_rollout_t *ro, long long now);

/* Where the roll-out stands at `now` for a policy whose max-age is
 * `target`: -1 before the start; the rung whose max-age goes out (without
 * includeSubDomains and preload) while that max-age is below the target;
 * ro->rungs once the target goes out as written, and always for a target
 * of 0 (a revocation). */
int hsts_rollout_state(const hsts_rollout_t *ro, long long now,
                       unsigned long target);

/* Seconds since the epoch when rung k begins (k == rungs: the end). */
long long hsts_rollout_begins(const hsts_rollout_t *ro, int k);

/* Seconds since the epoch of 00:00 UTC on y-m-d (proleptic Gregorian). */
long long hsts_days_from_civil(int y, int m, int d);

#endif /* HSTS_ROLLOUT_H */
