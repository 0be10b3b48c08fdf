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
 * One run of the configuration-time checks (src/hsts_report.c), shared
 * with the certificate checks (src/hsts_cert.c) so that their findings
 * are counted, logged and dumped the way the preload findings are.
 */

#ifndef HSTS_CHECK_H
#define HSTS_CHECK_H

#include "mod_hsts.h"
#include "apr_file_io.h"

typedef struct hsts_tls_map hsts_tls_map;
typedef struct hsts_twins hsts_twins;
typedef struct hsts_lockout hsts_lockout;

/* How many findings of one kind were seen, for the summary line. */
typedef struct {
    const char *kind;
    int level;                  /* HSTS_PROBLEM, HSTS_HINT, HSTS_WARNING */
    int count;
} hsts_tally;

#define HSTS_KINDS_MAX 32

/* Which directive a finding answers to: its mode says whether a problem
 * refuses the start.  "lockout-" kinds are HSTSLockoutCheck's. */
#define HSTS_CHECK_PRELOAD 0
#define HSTS_CHECK_LOCKOUT 1
#define HSTS_CHECKS        2

typedef struct {
    apr_pool_t *pool;           /* lives as long as the check */
    apr_pool_t *p;              /* scratch: per line when dumping */
    server_rec *main;
    hsts_tls_map *tls;          /* made when first needed */
    hsts_twins *twins;          /* likewise */
    hsts_lockout *lockout;      /* likewise */
    int modes[HSTS_CHECKS];     /* HSTS_PRELOAD_OFF, _WARN, _STRICT */
    int problems[HSTS_CHECKS];
    hsts_tally tallies[HSTS_KINDS_MAX];
    int kinds;
    apr_file_t *out;            /* DUMP_HSTS: findings go there, not to
                                 * the log */
    int written;                /* findings written on the current line */
} hsts_check;

#define HSTS_PROBLEM 0
#define HSTS_HINT    1
#define HSTS_WARNING 2

int hsts_kind_check(const char *kind);
int hsts_tell(hsts_check *ck, const char *kind, int level);
void hsts_say(hsts_check *ck, const server_rec *s, const char *kind,
              int level, const char *where, const char *text);
int hsts_is_tls(hsts_check *ck, server_rec *s);
const char *hsts_vhost_name(apr_pool_t *p, const server_rec *s);
void hsts_put_json(apr_file_t *out, const char *s);

/* src/hsts_cert.c: HSTSLockoutCheck.  The findings for the names and
 * certificates of one server; and, in DUMP_HSTS, its certificates as a
 * JSON array. */
void hsts_lockout_vhost(hsts_check *ck, server_rec *s);
void hsts_lockout_put_certs(hsts_check *ck, server_rec *s);

#endif /* HSTS_CHECK_H */
