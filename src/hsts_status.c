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
 * hsts-status: the running server's HSTS state as one JSON document (the
 * schema of DUMP_HSTS, with the roll-outs and certificates as they stand
 * at the request and the findings of the (re)start that is serving), and
 * a short section in mod_status' server-status.
 *
 * Tenants: SetHandler is a FileInfo directive, so any tenant allowed
 * FileInfo could say `SetHandler hsts-status` in a .htaccess file and
 * read every vhost's configuration and the admin's limits.  The handler
 * therefore serves only where the handler in force is one a <Location>
 * or <LocationMatch> of the server configuration set, and that handler
 * still says hsts-status for this request: the SetHandler expression of
 * the request's merged configuration is compared, by address, with those
 * the server configuration's <Location> sections hold.  A .htaccess file,
 * an <If> in one, AddHandler or a RewriteRule [H=] cannot produce one of
 * those, and a <Location> is matched against the URL, so a tenant cannot
 * stretch it over other paths.  Anything else answers 403 and logs why.
 */

#include "mod_hsts_version.h"
#include "mod_hsts.h"
#include "http_main.h"
#include "http_protocol.h"
#include "http_request.h"
#include "util_filter.h"
#include "apr_lib.h"
#include "apr_optional.h"
#include "mod_status.h"

APLOG_USE_MODULE(hsts);

#define HSTS_STATUS_HANDLER "hsts-status"

/* Servers written between two passes down the filter chain. */
#define HSTS_STATUS_BATCH 64

/* The SetHandler expressions of the server configuration's <Location>
 * sections, by address; lives with the configuration. */
static apr_hash_t *hsts_status_exprs;

static apr_status_t hsts_status_exprs_clear(void *data)
{
    (void)data;
    hsts_status_exprs = NULL;
    return APR_SUCCESS;
}

static int hsts_status_post_config(apr_pool_t *pconf, apr_pool_t *plog,
                                   apr_pool_t *ptemp, server_rec *s)
{
    server_rec *v;
    int i;

    (void)plog;
    (void)ptemp;
    hsts_status_exprs = apr_hash_make(pconf);
    apr_pool_cleanup_register(pconf, NULL, hsts_status_exprs_clear,
                              apr_pool_cleanup_null);
    for (v = s; v; v = v->next) {
        core_server_config *core = ap_get_core_module_config(
            v->module_config);
        ap_conf_vector_t **secs;

        if (!core->sec_url) {
            continue;
        }
        secs = (ap_conf_vector_t **)core->sec_url->elts;
        for (i = 0; i < core->sec_url->nelts; i++) {
            core_dir_config *cd = ap_get_core_module_config(secs[i]);

            if (cd->expr_handler) {
                apr_hash_set(hsts_status_exprs, &cd->expr_handler,
                             sizeof(cd->expr_handler), cd);
            }
        }
    }
    return OK;
}

/* Whether a <Location> of the server configuration made this request
 * an hsts-status one (the file's top comment says why). */
/* The directory of a .htaccess file read for this request (or the
 * requests it was redirected from), or NULL: its <If> sections merge
 * after every <Location>, so whatever Require the admin's <Location>
 * says, a tenant's file could say another. */
static const char *hsts_status_htaccess(const request_rec *r)
{
    const struct htaccess_result *h;

    for (h = r->htaccess; h; h = h->next) {
        if (h->htaccess) {
            return h->dir;
        }
    }
    return NULL;
}

static int hsts_status_allowed(request_rec *r)
{
    core_dir_config *cd = ap_get_core_module_config(r->per_dir_config);
    const char *err = NULL, *val;

    if (!cd->expr_handler || !hsts_status_exprs
        || !apr_hash_get(hsts_status_exprs, &cd->expr_handler,
                         sizeof(cd->expr_handler))) {
        return 0;
    }
    val = ap_expr_str_exec(r, cd->expr_handler, &err);
    return !err && val && !ap_cstr_casecmp(val, HSTS_STATUS_HANDLER);
}

/* -- ?vhost=NAME[:PORT] -------------------------------------------------- */

typedef struct {
    const char *name;           /* lower case, no final dot; NULL: all */
    apr_port_t port;            /* 0: any */
} hsts_status_filter;

/* The vhost=NAME[:PORT] argument of the query, or NULL for none; an
 * empty string for one that cannot be a host name. */
static const char *hsts_status_arg(request_rec *r, apr_port_t *port)
{
    const char *args = r->args;
    char *val, *colon, *end;
    apr_size_t len;

    *port = 0;
    while (args && *args) {
        const char *amp = strchr(args, '&');

        len = amp ? (apr_size_t)(amp - args) : strlen(args);
        if (len >= 6 && !strncmp(args, "vhost=", 6)) {
            val = apr_pstrmemdup(r->pool, args + 6, len - 6);
            if (ap_unescape_urlencoded(val) != OK) {
                return "";
            }
            colon = strrchr(val, ':');
            if (colon && colon[1]) {
                long n = strtol(colon + 1, &end, 10);

                if (*end || n <= 0 || n > 65535) {
                    return "";
                }
                *port = (apr_port_t)n;
                *colon = '\0';
            }
            len = strlen(val);
            if (len && val[len - 1] == '.') {
                val[len - 1] = '\0';
            }
            ap_str_tolower(val);
            return val;
        }
        args = amp ? amp + 1 : NULL;
    }
    return NULL;
}

static int hsts_status_has_name(const server_rec *s, const char *name)
{
    int i;

    if (s->server_hostname && !ap_cstr_casecmp(s->server_hostname, name)) {
        return 1;
    }
    for (i = 0; s->names && i < s->names->nelts; i++) {
        if (!ap_cstr_casecmp(APR_ARRAY_IDX(s->names, i, const char *),
                             name)) {
            return 1;
        }
    }
    for (i = 0; s->wild_names && i < s->wild_names->nelts; i++) {
        if (!ap_strcasecmp_match(name, APR_ARRAY_IDX(s->wild_names, i,
                                                     const char *))) {
            return 1;
        }
    }
    return 0;
}

static int hsts_status_wanted(const hsts_status_filter *fl,
                              const server_rec *s)
{
    const server_addr_rec *a;

    if (!fl->name) {
        return 1;
    }
    if (!*fl->name || !hsts_status_has_name(s, fl->name)) {
        return 0;
    }
    for (a = s->addrs; fl->port && a; a = a->next) {
        if (a->host_port == fl->port) {
            return 1;
        }
    }
    return !fl->port;
}

/* -- the document ------------------------------------------------------ */

typedef struct {
    ap_filter_t *f;
    apr_bucket_brigade *bb;
} hsts_status_out;

/* Through the request's brigade: ap_fwrite passes it down the filters
 * whenever its buffer fills, so nothing piles up. */
static int hsts_status_sink(void *baton, const char *buf, size_t len)
{
    hsts_status_out *o = baton;

    return ap_fwrite(o->f, o->bb, buf, len) != APR_SUCCESS;
}

/* "YYYY-MM-DDTHH:MM:SSZ" */
static const char *hsts_status_time(char *buf, apr_size_t size,
                                    apr_time_t t)
{
    apr_time_exp_t tm;
    apr_size_t len;

    apr_time_exp_gmt(&tm, t);
    apr_strftime(buf, &len, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

static void hsts_status_document(request_rec *r,
                                 const hsts_status_filter *fl)
{
    apr_time_t now = apr_time_now();
    hsts_status_totals t;
    hsts_status_out o;
    hsts_json j;
    apr_pool_t *p;
    server_rec *s;
    char day[32];
    int n = 0;

    hsts_status_summary(&t);
    o.f = r->output_filters;
    o.bb = apr_brigade_create(r->pool, r->connection->bucket_alloc);
    apr_pool_create(&p, r->pool);
    hsts_json_init(&j, hsts_status_sink, &o);
    hsts_json_object(&j);
    hsts_json_kstr(&j, "module", "mod_hsts");
    hsts_json_kstr(&j, "version", MOD_HSTS_VERSION);
    hsts_json_kint(&j, "schema", HSTS_JSON_SCHEMA);
    hsts_json_kstr(&j, "now", hsts_status_time(day, sizeof(day), now));
    hsts_json_kint(&j, "now_epoch", apr_time_sec(now));
    hsts_json_kstr(&j, "config_read", hsts_status_time(day, sizeof(day),
                                                       t.read));
    hsts_json_kint(&j, "config_generation",
                   ap_state_query(AP_SQ_CONFIG_GEN));
    hsts_json_key(&j, "summary");
    hsts_json_object(&j);
    hsts_json_kint(&j, "vhosts", t.servers);
    hsts_json_kint(&j, "vhosts_with_policy", t.policies);
    hsts_json_key(&j, "findings");
    hsts_json_object(&j);
    hsts_json_kint(&j, "problem", t.findings[0]);
    hsts_json_kint(&j, "warning", t.findings[2]);
    hsts_json_kint(&j, "hint", t.findings[1]);
    hsts_json_end(&j);
    hsts_json_end(&j);
    hsts_json_key(&j, "vhosts");
    hsts_json_array(&j);
    for (s = ap_server_conf; s && !j.failed; s = s->next) {
        if (!hsts_status_wanted(fl, s)) {
            continue;
        }
        hsts_status_vhost(&j, p, s, now);
        apr_pool_clear(p);
        if (++n % HSTS_STATUS_BATCH == 0 && !j.failed
            && (r->connection->aborted
                || ap_fflush(o.f, o.bb) != APR_SUCCESS)) {
            j.failed = 1;
        }
    }
    hsts_json_end(&j);
    hsts_json_end(&j);
    hsts_json_newline(&j);
    if (!j.failed) {
        ap_pass_brigade(o.f, o.bb);
    }
    apr_brigade_cleanup(o.bb);
    apr_pool_destroy(p);
}

static int hsts_status_handler(request_rec *r)
{
    hsts_status_filter fl;
    const char *htaccess;
    server_rec *s;

    if (!r->handler || strcmp(r->handler, HSTS_STATUS_HANDLER)) {
        return DECLINED;
    }
    if (!hsts_status_allowed(r)) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, "hsts-status refused "
                      "for %s: SetHandler hsts-status is served only "
                      "where a <Location> of the server configuration "
                      "says it (not from .htaccess, <Directory>, "
                      "AddHandler or a rewrite)", r->uri);
        return HTTP_FORBIDDEN;
    }
    if ((htaccess = hsts_status_htaccess(r))) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, "hsts-status refused "
                      "for %s: %s/.htaccess applies to it, and a tenant's "
                      ".htaccess could replace the <Location>'s Require "
                      "(<If> sections merge after it); map the <Location> "
                      "to a path no .htaccess file reaches", r->uri,
                      htaccess);
        return HTTP_FORBIDDEN;
    }
    r->allowed |= (AP_METHOD_BIT << M_GET);
    if (r->method_number != M_GET) {
        return HTTP_METHOD_NOT_ALLOWED;
    }
    fl.name = hsts_status_arg(r, &fl.port);
    if (fl.name) {
        for (s = ap_server_conf; s && !hsts_status_wanted(&fl, s);
             s = s->next) {
            continue;
        }
        if (!s) {
            return HTTP_NOT_FOUND;
        }
    }
    ap_set_content_type(r, "application/json");
    apr_table_setn(r->headers_out, "Cache-Control", "no-store");
    if (!r->header_only) {
        hsts_status_document(r, &fl);
    }
    return OK;
}

/* -- server-status ----------------------------------------------------- */

/* With ExtendedStatus On: totals for ?auto (an exporter's Key: value
 * lines), and a few lines in the HTML page. */
static int hsts_status_hook(request_rec *r, int flags)
{
    hsts_status_totals t;
    long long days = 0;
    int certs;

    if (!(flags & AP_STATUS_EXTENDED)) {
        return OK;
    }
    hsts_status_summary(&t);
    certs = hsts_status_cert_soonest(apr_time_now(), &days);
    if (flags & AP_STATUS_SHORT) {
        ap_rprintf(r, "HSTSVhostsWithPolicy: %d\n"
                   "HSTSFindingsProblem: %d\nHSTSFindingsWarning: %d\n"
                   "HSTSFindingsHint: %d\n", t.policies, t.findings[0],
                   t.findings[2], t.findings[1]);
        if (certs) {
            ap_rprintf(r, "HSTSCertSoonestExpiryDays: %" APR_INT64_T_FMT
                       "\n", (apr_int64_t)days);
        }
        return OK;
    }
    ap_rprintf(r, "<hr />\n<h2>mod_hsts %s</h2>\n<dl>\n"
               "<dt>%d of %d servers send an HSTS policy</dt>\n"
               "<dt>Findings of this (re)start: %d problem(s), "
               "%d warning(s), %d hint(s)</dt>\n", MOD_HSTS_VERSION,
               t.policies, t.servers, t.findings[0], t.findings[2],
               t.findings[1]);
    if (certs) {
        ap_rprintf(r, "<dt>Soonest certificate expiry: %" APR_INT64_T_FMT
                   " day(s)</dt>\n", (apr_int64_t)days);
    }
    ap_rputs("</dl>\n", r);
    return OK;
}

/* Every request runs through the handler hooks until one serves it, so
 * ours is added only to a configuration that names hsts-status somewhere
 * (SetHandler, AddHandler, a rewrite...), from pre_config, before httpd
 * sorts the hooks for the last time (as hsts_need does).  Without it, a
 * tenant's SetHandler hsts-status reaches no handler of ours at all. */
static int hsts_status_hooked;

static int hsts_status_word_char(char c)
{
    return apr_isalnum(c) || c == '-' || c == '_' || c == '.' || c == '/';
}

/* hsts-status as a word of its own: not a part of a path or a name */
static int hsts_status_in(const char *args)
{
    const char *at;
    apr_size_t len = sizeof(HSTS_STATUS_HANDLER) - 1;

    for (at = args; (at = ap_strcasestr(at, HSTS_STATUS_HANDLER)); at++) {
        if ((at == args || !hsts_status_word_char(at[-1]))
            && !hsts_status_word_char(at[len])) {
            return 1;
        }
    }
    return 0;
}

static int hsts_status_named(const ap_directive_t *d)
{
    for (; d; d = d->next) {
        if ((d->args && hsts_status_in(d->args))
            || (d->first_child && hsts_status_named(d->first_child))) {
            return 1;
        }
    }
    return 0;
}

static int hsts_status_pre_config(apr_pool_t *pconf, apr_pool_t *plog,
                                  apr_pool_t *ptemp)
{
    (void)pconf;
    (void)plog;
    (void)ptemp;
    if (!hsts_status_hooked && hsts_status_named(ap_conftree)) {
        ap_hook_handler(hsts_status_handler, NULL, NULL, APR_HOOK_MIDDLE);
        hsts_status_hooked = 1;
    }
    return OK;
}

void hsts_status_register_hooks(apr_pool_t *p)
{
    (void)p;
    hsts_status_hooked = 0;
    ap_hook_pre_config(hsts_status_pre_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_post_config(hsts_status_post_config, NULL, NULL,
                        APR_HOOK_MIDDLE);
    APR_OPTIONAL_HOOK(ap, status_hook, hsts_status_hook, NULL, NULL,
                      APR_HOOK_MIDDLE);
}
