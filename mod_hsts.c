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
 * mod_hsts: exactly one correct Strict-Transport-Security header (RFC 6797)
 * on every response that goes out over TLS, and none over plain HTTP.
 *
 * Directives:
 *   HSTSPolicy "max-age=N[; includeSubDomains][; preload]" | off
 *       server, vhost, <Directory>/<Location>/<Files>/<If>, .htaccess
 *       (AllowOverride FileInfo).  Parsed, validated and formatted into
 *       the canonical header when the configuration is read.
 *   HSTSUpstreamHeader replace|keep
 *       server, vhost, directory.  Whether a header set by a backend,
 *       a CGI or a leftover mod_headers line is replaced by ours (the
 *       default) or kept.
 *
 * Merge order: httpd's own per-directory order (server, vhost,
 * <Directory>, .htaccess, <Files>, <Location>, <If>); the nearest scope
 * that says HSTSPolicy wins, and scopes that say nothing inherit.
 *
 * How: a protocol-level output filter added from the create_request hook
 * sits in front of the HTTP/1 header filter and HTTP/2's response filter,
 * so it sees every response httpd sends for the request, including early
 * 400s, TRACE, "OPTIONS *", error documents and cache hits, which the
 * insert_filter hooks that mod_headers uses never see.  It decides at
 * filter time, from the request's final per-directory configuration.
 */

#include "httpd.h"
#include "http_config.h"
#include "http_core.h"
#include "http_log.h"
#include "http_protocol.h"
#include "http_request.h"
#include "util_filter.h"
#include "ap_mmn.h"
#include "apr_lib.h"
#include "apr_strings.h"

#if AP_MODULE_MAGIC_AT_LEAST(20120211, 105)
#include "http_ssl.h"
#define HSTS_HAVE_AP_SSL 1
#else
#include "apr_optional.h"
APR_DECLARE_OPTIONAL_FN(int, ssl_is_https, (conn_rec *));
#endif

#include "hsts_policy.h"

#define HSTS_HEADER "Strict-Transport-Security"
#define HSTS_NOTE   "hsts"

/* One HSTSPolicy line, with everything the request path needs already
 * computed: the header value (NULL for "off") and where it came from. */
typedef struct {
    const char *header;
    const char *source;
    hsts_policy_t policy;
} hsts_rule;

#define HSTS_UNSET         -1
#define HSTS_UPSTREAM_REPLACE 0
#define HSTS_UPSTREAM_KEEP    1

typedef struct {
    const hsts_rule *rule;      /* NULL: unset, inherit */
    int upstream;               /* HSTS_UNSET: inherit; default replace */
} hsts_dir_conf;

/* Per response: the request and status the last decision was made for,
 * so the filter decides once per response and again only when httpd
 * replaces the response (error document, 413, 416). */
typedef struct {
    request_rec *r;
    int status;
    const char *ours;           /* the value we put in err_headers_out */
} hsts_filter_ctx;

static void *hsts_create_dir_conf(apr_pool_t *p, char *dir);
static void *hsts_merge_dir_conf(apr_pool_t *p, void *basev, void *addv);
static void hsts_register_hooks(apr_pool_t *p);
static const command_rec hsts_cmds[];

AP_DECLARE_MODULE(hsts) = {
    STANDARD20_MODULE_STUFF,
    hsts_create_dir_conf,
    hsts_merge_dir_conf,
    NULL,
    NULL,
    hsts_cmds,
    hsts_register_hooks
#if defined(AP_MODULE_HAS_FLAGS)
    , AP_MODULE_FLAG_NONE
#endif
};

static ap_filter_rec_t *hsts_filter_handle;

#ifndef HSTS_HAVE_AP_SSL
static APR_OPTIONAL_FN_TYPE(ssl_is_https) *hsts_ssl_is_https;
#endif

static void *hsts_create_dir_conf(apr_pool_t *p, char *dir)
{
    hsts_dir_conf *conf = apr_palloc(p, sizeof(*conf));

    (void)dir;
    conf->rule = NULL;
    conf->upstream = HSTS_UNSET;
    return conf;
}

static void *hsts_merge_dir_conf(apr_pool_t *p, void *basev, void *addv)
{
    const hsts_dir_conf *base = basev, *add = addv;
    hsts_dir_conf *conf = apr_palloc(p, sizeof(*conf));

    conf->rule = add->rule ? add->rule : base->rule;
    conf->upstream = add->upstream != HSTS_UNSET ? add->upstream
                                                 : base->upstream;
    return conf;
}

/* "file:line" of the directive being read, for logs. */
static const char *hsts_cmd_source(cmd_parms *cmd)
{
    const ap_directive_t *d = cmd->directive;

    if (!d || !d->filename) {
        return "the command line";
    }
    return apr_psprintf(cmd->pool, "%s:%d", d->filename, d->line_num);
}

static const char *hsts_cmd_policy(cmd_parms *cmd, void *mconfig,
                                   const char *args)
{
    hsts_dir_conf *conf = mconfig;
    hsts_rule *rule;
    const char *value = args;
    char err[HSTS_ERR_MAX];
    char header[HSTS_HEADER_MAX];

    /* Take the admin's usual quoted form ("max-age=...; preload") and the
     * bare form (max-age=...; preload) that is easy to write by mistake:
     * both mean one header value. */
    while (apr_isspace(*value)) {
        value++;
    }
    if (*value == '"' || *value == '\'') {
        const char *rest = value;

        value = ap_getword_conf(cmd->temp_pool, &rest);
        if (*rest) {
            return apr_psprintf(cmd->pool, "%s: unexpected '%s' after the "
                                "quoted policy", cmd->cmd->name, rest);
        }
    }
    else {
        char *end = apr_pstrdup(cmd->temp_pool, value);

        value = end;
        end += strlen(end);
        while (end > value && apr_isspace(end[-1])) {
            *--end = '\0';
        }
    }
    if (!*value) {
        return apr_psprintf(cmd->pool, "%s needs a policy, e.g. "
                            "\"max-age=31536000\", or off", cmd->cmd->name);
    }

    rule = apr_pcalloc(cmd->pool, sizeof(*rule));
    rule->source = hsts_cmd_source(cmd);
    if (strcasecmp(value, "off") != 0) {
        if (hsts_policy_parse(value, &rule->policy, err, sizeof(err)) != 0) {
            return apr_psprintf(cmd->pool, "%s: %s", cmd->cmd->name, err);
        }
        hsts_policy_format(&rule->policy, header, sizeof(header));
        rule->header = apr_pstrdup(cmd->pool, header);
    }
    conf->rule = rule;
    return NULL;
}

static const char *hsts_cmd_upstream(cmd_parms *cmd, void *mconfig,
                                     const char *arg)
{
    hsts_dir_conf *conf = mconfig;

    if (!strcasecmp(arg, "replace")) {
        conf->upstream = HSTS_UPSTREAM_REPLACE;
    }
    else if (!strcasecmp(arg, "keep")) {
        conf->upstream = HSTS_UPSTREAM_KEEP;
    }
    else {
        return apr_psprintf(cmd->pool, "%s: unknown value '%s' (expected "
                            "replace or keep)", cmd->cmd->name, arg);
    }
    return NULL;
}

static int hsts_is_tls(request_rec *r)
{
    const char *https;

#ifdef HSTS_HAVE_AP_SSL
    if (ap_ssl_conn_is_ssl(r->connection)) {
        return 1;
    }
#else
    conn_rec *c = r->connection->master ? r->connection->master
                                        : r->connection;

    if (hsts_ssl_is_https && hsts_ssl_is_https(c)) {
        return 1;
    }
#endif
    /* TLS ended in front of httpd: the admin vouches with HTTPS=on. */
    https = apr_table_get(r->subprocess_env, "HTTPS");
    return https && !strcasecmp(https, "on");
}

/* The first Strict-Transport-Security value the client would see that we
 * did not set ourselves: err_headers_out goes out first. */
static const char *hsts_foreign(request_rec *r, const hsts_filter_ctx *ctx)
{
    const char *v = apr_table_get(r->err_headers_out, HSTS_HEADER);

    if (v && v != ctx->ours) {
        return v;
    }
    return apr_table_get(r->headers_out, HSTS_HEADER);
}

static void hsts_decide(request_rec *r, hsts_filter_ctx *ctx)
{
    const hsts_dir_conf *conf = ap_get_module_config(r->per_dir_config,
                                                     &hsts_module);
    const hsts_rule *rule = conf ? conf->rule : NULL;
    const char *value = NULL, *what, *foreign;

    if (!rule) {
        return;     /* no HSTSPolicy for this request: not ours to touch */
    }
    foreign = hsts_foreign(r, ctx);
    if (!hsts_is_tls(r)) {
        what = "plain-http";    /* RFC 6797 7.2, whoever set it */
    }
    else if (foreign && conf->upstream == HSTS_UPSTREAM_KEEP) {
        value = foreign;
        what = "upstream";
    }
    else if (!rule->header) {
        what = "off";
    }
    else if (r->hostname && hsts_host_is_exempt(r->hostname)) {
        what = "ip-host";
    }
    else {
        value = rule->header;
        what = "sent";
    }

    if (foreign || ctx->ours) {
        apr_table_unset(r->headers_out, HSTS_HEADER);
        if (!value) {
            apr_table_unset(r->err_headers_out, HSTS_HEADER);
        }
    }
    if (value) {
        apr_table_setn(r->err_headers_out, HSTS_HEADER, value);
    }
    ctx->ours = value;
    apr_table_setn(r->notes, HSTS_NOTE, what);

    if (APLOGrdebug(r)) {
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r,
                      "%s for %s (status %d, host %s): %s; policy from %s%s",
                      what, r->uri ? r->uri : "-", r->status,
                      r->hostname ? r->hostname : "-",
                      value ? value : "no header", rule->source,
                      foreign && value != foreign ? ", replaced upstream "
                      "header" : "");
    }
}

static apr_status_t hsts_out_filter(ap_filter_t *f, apr_bucket_brigade *bb)
{
    hsts_filter_ctx *ctx = f->ctx;
    request_rec *r = f->r;

    if (ctx->r != r || ctx->status != r->status) {
        ctx->r = r;
        ctx->status = r->status;
        hsts_decide(r, ctx);
    }
    return ap_pass_brigade(f->next, bb);
}

static int hsts_create_request(request_rec *r)
{
    /* Subrequests share the main request's protocol filters, and an
     * internal redirect carries them over (with f->r updated). */
    if (!r->main && !r->prev) {
        hsts_filter_ctx *ctx = apr_pcalloc(r->pool, sizeof(*ctx));

        ap_add_output_filter_handle(hsts_filter_handle, ctx, r,
                                    r->connection);
    }
    return DECLINED;
}

#ifndef HSTS_HAVE_AP_SSL
static void hsts_retrieve_optional_fn(void)
{
    hsts_ssl_is_https = APR_RETRIEVE_OPTIONAL_FN(ssl_is_https);
}
#endif

static void hsts_register_hooks(apr_pool_t *p)
{
    (void)p;
    hsts_filter_handle = ap_register_output_filter("HSTS", hsts_out_filter,
                                                   NULL, AP_FTYPE_PROTOCOL);
    ap_hook_create_request(hsts_create_request, NULL, NULL, APR_HOOK_LAST);
#ifndef HSTS_HAVE_AP_SSL
    ap_hook_optional_fn_retrieve(hsts_retrieve_optional_fn, NULL, NULL,
                                 APR_HOOK_MIDDLE);
#endif
}

static const command_rec hsts_cmds[] = {
    AP_INIT_RAW_ARGS("HSTSPolicy", hsts_cmd_policy, NULL,
                     RSRC_CONF | ACCESS_CONF | OR_FILEINFO,
                     "a Strict-Transport-Security value such as "
                     "\"max-age=31536000; includeSubDomains\", or off"),
    AP_INIT_TAKE1("HSTSUpstreamHeader", hsts_cmd_upstream, NULL,
                  RSRC_CONF | ACCESS_CONF,
                  "replace (default) or keep a Strict-Transport-Security "
                  "header set by a backend, CGI or another module"),
    { NULL }
};
