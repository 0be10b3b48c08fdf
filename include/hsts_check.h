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
 * with the files that make findings of their own (src/hsts_preload.c,
 * src/hsts_cert.c), so that every finding is counted, logged, dumped and
 * kept for hsts-status the same way.
 */

#ifndef HSTS_CHECK_H
#define HSTS_CHECK_H

#include "mod_hsts.h"

typedef struct hsts_tls_map hsts_tls_map;
typedef struct hsts_preload_index hsts_preload_index;
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
    hsts_preload_index *preload;    /* likewise (src/hsts_preload.c) */
    hsts_lockout *lockout;      /* likewise (src/hsts_cert.c) */
    int modes[HSTS_CHECKS];     /* HSTS_PRELOAD_OFF, _WARN, _STRICT */
    int problems[HSTS_CHECKS];
    int cert_problems;          /* lockout problems with a certificate */
    hsts_tally tallies[HSTS_KINDS_MAX];
    int kinds;
    hsts_json *out;             /* DUMP_HSTS: findings go there, not to
                                 * the log */
    apr_pool_t *keep;           /* the serving reading: every finding is
                                 * also kept for hsts-status, from here */
    int log_this;               /* hsts_tell: the finding is logged */
    int quiet;                  /* count, say nothing: hsts_report() */
    int notices;                /* say where each roll-out stands */
} hsts_check;

#define HSTS_PROBLEM 0
#define HSTS_HINT    1
#define HSTS_WARNING 2

/* Which check (HSTS_CHECK_...) a kind of finding belongs to. */
int hsts_kind_check(const char *kind);

/* Counts a finding; non-zero when it is to be told in full (and then
 * hsts_say must follow). */
int hsts_tell(hsts_check *ck, const char *kind, int level);

/* A finding told in full: a log line (`where` says which vhost or
 * section), or an object of the current DUMP_HSTS line's "findings";
 * on the serving reading also kept for hsts-status.  `text` without the
 * preload checker's code: the log line adds it. */
void hsts_say(hsts_check *ck, const server_rec *s, const char *kind,
              int level, const char *where, const char *text);

/* Whether a server speaks TLS, as its TLS module will decide it. */
int hsts_is_tls(hsts_check *ck, server_rec *s);

/* "vhost NAME (FILE:LINE)", or "the main server". */
const char *hsts_vhost_name(apr_pool_t *p, const server_rec *s);

/* A certificate a server presents, as DUMP_HSTS and hsts-status list
 * it: made by src/hsts_cert.c, kept per server by the serving reading
 * (days left are counted when a document is written). */
struct hsts_cert_info {
    hsts_cert_info *next;
    const char *file, *directive, *chain_file;
    const char *error;          /* the file could not be used: why */
    apr_array_header_t *names;  /* subjectAltName DNS names */
    long long not_before, not_after;
    const char *issuer, *key;
    int verified;
    const char *verify_error;
};

/* src/hsts_cert.c: HSTSLockoutCheck's findings for the names and
 * certificates of one server; and its certificates, from pool p. */
void hsts_lockout_vhost(hsts_check *ck, server_rec *s);
hsts_cert_info *hsts_lockout_certs(hsts_check *ck, server_rec *s,
                                   apr_pool_t *p);

/* src/hsts_cert.c: NULL when TLS server s serves `name` with a
 * certificate a browser takes (one of them covers it, is valid now and
 * verifies, with no SHA-1 below its root); else why not. */
const char *hsts_lockout_serves(hsts_check *ck, server_rec *s,
                                const char *name);

#endif /* HSTS_CHECK_H */
