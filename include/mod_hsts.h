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
 * mod_hsts' private header: the configuration records shared by the
 * request-path glue (mod_hsts.c) and the configuration-time reports
 * (src/hsts_report.c).
 */

#ifndef MOD_HSTS_H
#define MOD_HSTS_H

#include "httpd.h"
#include "http_config.h"
#include "http_core.h"
#include "http_log.h"
#include "apr_hash.h"
#include "apr_strings.h"

#include "hsts_json.h"
#include "hsts_policy.h"
#include "hsts_rollout.h"

extern module AP_MODULE_DECLARE_DATA hsts_module;

/* Where a directive was read: for logs, messages and DUMP_HSTS. */
typedef struct {
    const char *source;         /* scope and file:line, or .htaccess:line */
    const char *file;
    int line;
} hsts_where;

/* One HSTSPolicy line, with everything the request path needs already
 * computed: the header value (NULL for "off") and where it came from. */
typedef struct {
    const char *header;
    hsts_where where;
    int inherit;                /* an "off" that HSTSOverrideLimits denied */
    const char *clamped;        /* what HSTSOverrideLimits changed, or NULL */
    hsts_policy_t policy;
} hsts_rule;

#define HSTS_UNSET         -1
#define HSTS_UPSTREAM_REPLACE 0
#define HSTS_UPSTREAM_KEEP    1

/* One HSTSRedirect line (args.status 0: 301 for GET/HEAD, 308
 * otherwise; args.port 0: 443). */
typedef struct {
    hsts_redirect_t args;
    hsts_where where;
} hsts_redirect;

typedef struct {
    const hsts_rule *rule;      /* NULL: unset, inherit */
    int upstream;               /* HSTS_UNSET: inherit; default replace */
    const hsts_redirect *redirect;  /* NULL: unset; default off */
} hsts_dir_conf;

/* One HSTSRollout line, with each rung's header ready for the request
 * path. */
typedef struct {
    hsts_rollout_t ro;
    const char *headers[HSTS_LADDER_MAX];   /* "max-age=ladder[k]" */
    hsts_where where;
} hsts_rollout;

#define HSTS_PRELOAD_OFF    0
#define HSTS_PRELOAD_WARN   1
#define HSTS_PRELOAD_STRICT 2

/* One HSTSOverrideLimits line. */
typedef struct {
    hsts_limits_t limits;
    const char *text;           /* canonical form, for messages and dumps */
    hsts_where where;
} hsts_limits;

/* A finding of the serving reading (src/hsts_report.c), and a
 * certificate it read (include/hsts_check.h). */
typedef struct hsts_found hsts_found;
typedef struct hsts_cert_info hsts_cert_info;

/* The HSTSLockoutCheck line (src/hsts_cert.c): mode is one of the
 * HSTS_PRELOAD_ values, ca an absolute file name or NULL. */
typedef struct {
    int mode;
    const char *ca;
    int expiry_days;            /* HSTS_UNSET: HSTS_LOCKOUT_EXPIRY_DAYS */
} hsts_lockout_conf;

#define HSTS_LOCKOUT_EXPIRY_DAYS 14

typedef struct {
    const hsts_rollout *rollout;    /* NULL: unset, inherit; default none */
    const hsts_limits *limits;      /* NULL: unset, inherit; default none */
    int preload_check;              /* main server only; default warn */
    const hsts_lockout_conf *lockout;   /* main server only; NULL: unset,
                                         * default warn */
    /* Not a directive: whether ServerName itself is exempt (an IP literal
     * or localhost), worked out once in post_config so that the common
     * request, Host == ServerName, needs a strcmp instead of a scan.
     * HSTS_UNSET until then. */
    int name_exempt;
    /* Not a directive either: no name of this vhost (ServerName,
     * ServerAlias) can match an exempt host, so a request that httpd
     * routed here by name needs no look at the Host at all.  post_config;
     * 0 until then. */
    int names_never_exempt;
    /* Not directives: set in post_config for hsts-status, never merged:
     * whether the server speaks TLS, the findings of the serving reading
     * in the order told, DUMP_HSTS's preload_ready (-1: null) and the
     * certificates it presents. */
    int tls;
    hsts_found *kept, *kept_last;
    int preload_ready;
    hsts_cert_info *certs;
} hsts_srv_conf;

/* src/hsts_config.c: the directives and the records' create and merge
 * functions, for the module record in mod_hsts.c. */
extern const command_rec hsts_cmds[];
void *hsts_create_dir_conf(apr_pool_t *p, char *dir);
void *hsts_merge_dir_conf(apr_pool_t *p, void *basev, void *addv);
void *hsts_create_srv_conf(apr_pool_t *p, server_rec *s);
void *hsts_merge_srv_conf(apr_pool_t *p, void *basev, void *addv);

/* mod_hsts.c: the request hooks a directive needs, added only when one
 * does (HSTS_NEED_LIMITS: HSTSOverrideLimits, which needs the filter
 * wherever tenants' .htaccess files may set a header). */
#define HSTS_NEED_POLICY   1
#define HSTS_NEED_REDIRECT 2
#define HSTS_NEED_LIMITS   4
void hsts_need(int what);

/* src/hsts_report.c: what runs when the configuration is read.
 * hsts_check_config makes the startup checks (a non-OK result refuses to
 * start). */
int hsts_check_config(apr_pool_t *pconf, apr_pool_t *plog,
                      apr_pool_t *ptemp, server_rec *s);
int hsts_post_config(apr_pool_t *pconf, apr_pool_t *plog,
                     apr_pool_t *ptemp, server_rec *s);
void hsts_test_config(apr_pool_t *p, server_rec *main);

/* For hsts-status (src/hsts_status.c), from what the serving reading
 * kept: one server's object, as DUMP_HSTS writes it, with the roll-out
 * and certificates at `now`; and the totals. */
typedef struct {
    int servers;                /* the main server and every vhost */
    int policies;               /* servers with an HSTSPolicy on */
    int findings[3];            /* by level: problem, hint, warning */
    apr_time_t read;            /* when the serving reading was made */
} hsts_status_totals;

void hsts_status_vhost(hsts_json *j, apr_pool_t *p, server_rec *s,
                       apr_time_t now);
void hsts_status_summary(hsts_status_totals *t);
/* The fewest days any certificate has left at `now` (negative: expired
 * that long ago); 0 when no certificate is known. */
int hsts_status_cert_soonest(apr_time_t now, long long *days);

/* src/hsts_status.c: the hsts-status handler and the server-status
 * section. */
void hsts_status_register_hooks(apr_pool_t *p);

#endif /* MOD_HSTS_H */
