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
 *   HSTSRedirect on|off [status=301|302|307|308] [port=N]
 *       server, vhost, directory, .htaccess (FileInfo).  Plain-HTTP
 *       requests are redirected to https:// on the same host.
 *   HSTSRollout start=YYYY-MM-DD [step=7d] [ladder=300,...]
 *       server, vhost.  Ramps max-age up the ladder, one rung per step,
 *       withholding includeSubDomains and preload until the target.
 *   HSTSPreloadCheck off|warn|strict
 *       server config.  Preload-list rules checked at startup.
 *   HSTSOverrideLimits [max-age=MIN..MAX] [includeSubDomains=allow|deny]
 *                      [preload=allow|deny] [off=allow|deny]
 *       server, vhost.  Bounds for HSTSPolicy in .htaccess files: a
 *       tenant's policy outside them is clamped, never refused.
 *
 * `apachectl -t -D DUMP_HSTS` prints the effective configuration as JSON
 * lines for control panels.
 *
 * Merge order: httpd's own per-directory order (server, vhost,
 * <Directory>, .htaccess, <Files>, <Location>, <If>); the nearest scope
 * that says HSTSPolicy (or HSTSRedirect) wins, and scopes that say nothing
 * inherit.  HSTSRollout is per virtual host, inherited from the server.
 *
 * How: a protocol-level output filter added from the create_request hook
 * sits in front of the HTTP/1 header filter and HTTP/2's response filter,
 * so it sees every response httpd sends for the request, including early
 * 400s, TRACE, "OPTIONS *", error documents and cache hits, which the
 * insert_filter hooks that mod_headers uses never see.  It decides once
 * per request, on the first brigade, from the request's final
 * per-directory configuration, and puts the header in headers_out (an
 * entry in err_headers_out would cost every response a table overlay).
 * The HSTSRedirect hook is registered only when the configuration lets
 * HSTSRedirect apply somewhere, and the filter is added only when it lets
 * an HSTSPolicy apply, so that neither costs anything elsewhere.
 *
 * Files: this one is the request path and the directives; the checks and
 * reports made when the configuration is read are in src/hsts_report.c;
 * the logic that knows nothing of httpd is in src/hsts_policy.c and
 * src/hsts_rollout.c.
 */

#include "httpd.h"
#include "http_config.h"
#include "http_core.h"
#include "http_log.h"
#include "http_protocol.h"
#include "http_request.h"
#include "http_vhost.h"
#include "util_filter.h"
#include "ap_mmn.h"
#include "apr_lib.h"
#include "apr_strings.h"

/* The floor is the oldest release `make matrix` passes on, 2.4.37 (RHEL
 * 8).  The TLS fallback below needs c->master (2.4.17) and the
 * post_perdir_config hook (2.4.5); nothing older than 2.4.37 is tested. */
#if !AP_MODULE_MAGIC_AT_LEAST(20120211, 83)
#error "mod_hsts needs httpd 2.4.37 or later (MMN 20120211.83): older " \
       "releases are untested (README, Supported versions)"
#endif

#if AP_MODULE_MAGIC_AT_LEAST(20120211, 105)
#include "http_ssl.h"
#define HSTS_HAVE_AP_SSL 1
#else
#include "apr_optional.h"
APR_DECLARE_OPTIONAL_FN(int, ssl_is_https, (conn_rec *));
#endif

#include "mod_hsts.h"

#define HSTS_HEADER "Strict-Transport-Security"
#define HSTS_NOTE   "hsts"

/* The request notes.  The redirect's is compared by address: it outranks
 * the filter's later "plain-http". */
static const char hsts_note_redirect[] = "redirect";

/* Their addresses mark, in a connection's conn_config, what it is known
 * to be: checked once per keep-alive connection, not per request. */
static char hsts_conn_tls;
static char hsts_conn_plain;

/* What the configuration lets apply anywhere (HSTS_REACH_*), worked out
 * in hsts_check_config_reach: without a policy no request needs the
 * filter, and without the redirect hook no request carries its note. */
static int hsts_reach;

static void *hsts_create_dir_conf(apr_pool_t *p, char *dir);
static void *hsts_merge_dir_conf(apr_pool_t *p, void *basev, void *addv);
static void *hsts_create_srv_conf(apr_pool_t *p, server_rec *s);
static void *hsts_merge_srv_conf(apr_pool_t *p, void *basev, void *addv);
static void hsts_register_hooks(apr_pool_t *p);
static const command_rec hsts_cmds[];

AP_DECLARE_MODULE(hsts) = {
    STANDARD20_MODULE_STUFF,
    hsts_create_dir_conf,
    hsts_merge_dir_conf,
    hsts_create_srv_conf,
    hsts_merge_srv_conf,
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
    conf->redirect = NULL;
    return conf;
}

/* The nearest rule wins, except an "off" that HSTSOverrideLimits denied:
 * the inherited policy goes on, carrying the note that it was clamped. */
static const hsts_rule *hsts_merge_rule(apr_pool_t *p, const hsts_rule *base,
                                        const hsts_rule *add)
{
    hsts_rule *kept;

    if (!add || !add->inherit || !base) {
        return add ? add : base;
    }
    kept = apr_pmemdup(p, base, sizeof(*base));
    kept->clamped = add->clamped;
    return kept;
}

static void *hsts_merge_dir_conf(apr_pool_t *p, void *basev, void *addv)
{
    const hsts_dir_conf *base = basev, *add = addv;
    hsts_dir_conf *conf = apr_palloc(p, sizeof(*conf));

    conf->rule = hsts_merge_rule(p, base->rule, add->rule);
    conf->upstream = add->upstream != HSTS_UNSET ? add->upstream
                                                 : base->upstream;
    conf->redirect = add->redirect ? add->redirect : base->redirect;
    return conf;
}

static void *hsts_create_srv_conf(apr_pool_t *p, server_rec *s)
{
    hsts_srv_conf *conf = apr_palloc(p, sizeof(*conf));

    (void)s;
    conf->rollout = NULL;
    conf->limits = NULL;
    conf->preload_check = HSTS_UNSET;
    conf->name_exempt = HSTS_UNSET;
    conf->names_never_exempt = 0;
    return conf;
}

static void *hsts_merge_srv_conf(apr_pool_t *p, void *basev, void *addv)
{
    const hsts_srv_conf *base = basev, *add = addv;
    hsts_srv_conf *conf = apr_palloc(p, sizeof(*conf));

    conf->rollout = add->rollout ? add->rollout : base->rollout;
    conf->limits = add->limits ? add->limits : base->limits;
    conf->preload_check = add->preload_check != HSTS_UNSET
                          ? add->preload_check : base->preload_check;
    conf->name_exempt = HSTS_UNSET;     /* per server, never inherited */
    conf->names_never_exempt = 0;
    return conf;
}

static int hsts_cmd_in_htaccess(const cmd_parms *cmd)
{
    return cmd->path && !(cmd->override & ACCESS_CONF);
}

/* Where the directive being read sits: the .htaccess file, or the
 * enclosing section, with file and line. */
static void hsts_cmd_where(cmd_parms *cmd, hsts_where *where)
{
    const ap_directive_t *d = cmd->directive, *sec;

    where->file = d ? d->filename : NULL;
    where->line = d ? d->line_num : 0;
    if (!where->file) {
        where->source = "the command line";
        return;
    }
    where->source = apr_psprintf(cmd->pool, "server config at %s:%d",
                                 d->filename, d->line_num);
    if (hsts_cmd_in_htaccess(cmd)) {
        where->source = apr_psprintf(cmd->pool, "%s:%d", d->filename,
                                     d->line_num);
        return;
    }
    for (sec = d->parent; sec; sec = sec->parent) {
        if (strcasecmp(sec->directive, "<IfModule")
            && strcasecmp(sec->directive, "<IfDefine")
            && strcasecmp(sec->directive, "<IfVersion")
            && strcasecmp(sec->directive, "<IfFile")
            && strcasecmp(sec->directive, "<IfDirective")
            && strcasecmp(sec->directive, "<IfSection")) {
            where->source = apr_psprintf(cmd->pool, "%s %s at %s:%d",
                                         sec->directive, sec->args,
                                         d->filename, d->line_num);
            return;
        }
    }
}

/* A tenant's .htaccess policy outside the vhost's HSTSOverrideLimits is
 * clamped, never refused: a refusal would take the directory down.  What
 * changed is logged with each response that carries it. */
static void hsts_apply_limits(cmd_parms *cmd, hsts_rule *rule,
                              const char *asked, int off)
{
    const hsts_srv_conf *sconf = ap_get_module_config(
        cmd->server->module_config, &hsts_module);
    const hsts_limits *lim = sconf->limits;
    char why[HSTS_ERR_MAX];

    if (!lim) {
        return;
    }
    if (off) {
        if (lim->limits.deny_off) {
            rule->inherit = 1;
            rule->clamped = apr_psprintf(cmd->pool, "HSTSPolicy in %s "
                                         "asked for \"off\", ignored: "
                                         "HSTSOverrideLimits %s (%s)",
                                         rule->where.source, lim->text,
                                         lim->where.source);
        }
        return;
    }
    if (hsts_limits_apply(&lim->limits, &rule->policy, why, sizeof(why))) {
        rule->clamped = apr_psprintf(cmd->pool, "HSTSPolicy in %s asked "
                                     "for \"%s\", %s: HSTSOverrideLimits "
                                     "%s (%s)", rule->where.source, asked,
                                     why, lim->text, lim->where.source);
    }
}

static const char *hsts_cmd_policy(cmd_parms *cmd, void *mconfig,
                                   const char *args)
{
    hsts_dir_conf *conf = mconfig;
    hsts_rule *rule;
    const char *value = args;
    char err[HSTS_ERR_MAX];
    char header[HSTS_HEADER_MAX];
    int off;

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

    off = !strcasecmp(value, "off");
    rule = apr_pcalloc(cmd->pool, sizeof(*rule));
    hsts_cmd_where(cmd, &rule->where);
    if (!off && hsts_policy_parse(value, &rule->policy, err,
                                  sizeof(err)) != 0) {
        return apr_psprintf(cmd->pool, "%s: %s", cmd->cmd->name, err);
    }
    if (hsts_cmd_in_htaccess(cmd)) {
        hsts_apply_limits(cmd, rule, value, off);
    }
    if (!off) {
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

static const char *hsts_cmd_redirect(cmd_parms *cmd, void *mconfig,
                                     int argc, char *const argv[])
{
    hsts_dir_conf *conf = mconfig;
    hsts_redirect *rd = apr_pcalloc(cmd->pool, sizeof(*rd));
    char err[HSTS_ERR_MAX];

    if (hsts_redirect_parse((const char *const *)argv, argc, &rd->args,
                            err, sizeof(err)) != 0) {
        return apr_psprintf(cmd->pool, "%s: %s", cmd->cmd->name, err);
    }
    rd->port = !rd->args.port || rd->args.port == 443 ? ""
               : apr_psprintf(cmd->pool, ":%d", rd->args.port);
    hsts_cmd_where(cmd, &rd->where);
    conf->redirect = rd;
    return NULL;
}

static const char *hsts_cmd_rollout(cmd_parms *cmd, void *mconfig,
                                    int argc, char *const argv[])
{
    hsts_srv_conf *conf = ap_get_module_config(cmd->server->module_config,
                                               &hsts_module);
    hsts_rollout *ro = apr_pcalloc(cmd->pool, sizeof(*ro));
    char err[HSTS_ERR_MAX];
    int k;

    (void)mconfig;
    if (hsts_rollout_parse((const char *const *)argv, argc, &ro->ro,
                           err, sizeof(err)) != 0) {
        return apr_psprintf(cmd->pool, "%s: %s", cmd->cmd->name, err);
    }
    for (k = 0; k < ro->ro.rungs; k++) {
        ro->headers[k] = apr_psprintf(cmd->pool, "max-age=%lu",
                                      ro->ro.ladder[k]);
    }
    hsts_cmd_where(cmd, &ro->where);
    conf->rollout = ro;
    return NULL;
}

static const char *hsts_cmd_limits(cmd_parms *cmd, void *mconfig,
                                   int argc, char *const argv[])
{
    hsts_srv_conf *conf = ap_get_module_config(cmd->server->module_config,
                                               &hsts_module);
    hsts_limits *lim = apr_pcalloc(cmd->pool, sizeof(*lim));
    char err[HSTS_ERR_MAX], text[HSTS_ERR_MAX];

    (void)mconfig;
    if (hsts_limits_parse((const char *const *)argv, argc, &lim->limits,
                          err, sizeof(err)) != 0) {
        return apr_psprintf(cmd->pool, "%s: %s", cmd->cmd->name, err);
    }
    hsts_limits_format(&lim->limits, text, sizeof(text));
    lim->text = apr_pstrdup(cmd->pool, text);
    hsts_cmd_where(cmd, &lim->where);
    conf->limits = lim;
    return NULL;
}

static const char *hsts_cmd_preload_check(cmd_parms *cmd, void *mconfig,
                                          const char *arg)
{
    hsts_srv_conf *conf = ap_get_module_config(cmd->server->module_config,
                                               &hsts_module);
    const char *err = ap_check_cmd_context(cmd, GLOBAL_ONLY);

    (void)mconfig;
    if (err) {
        return err;
    }
    if (!strcasecmp(arg, "off")) {
        conf->preload_check = HSTS_PRELOAD_OFF;
    }
    else if (!strcasecmp(arg, "warn")) {
        conf->preload_check = HSTS_PRELOAD_WARN;
    }
    else if (!strcasecmp(arg, "strict")) {
        conf->preload_check = HSTS_PRELOAD_STRICT;
    }
    else {
        return apr_psprintf(cmd->pool, "%s: unknown value '%s' (expected "
                            "off, warn or strict)", cmd->cmd->name, arg);
    }
    return NULL;
}

/* A TLS connection stays TLS; a plain one may turn TLS with an RFC 2817
 * upgrade (SSLEngine optional), which a request asks for with an Upgrade
 * header: such a request looks again, and leaves the connection unknown
 * for the next one. */
static int hsts_is_tls_slow(request_rec *r, const void *known)
{
    conn_rec *c = r->connection;
    const char *upgrade = apr_table_get(r->headers_in, "Upgrade");
    const char *https;

    if (known != &hsts_conn_plain || upgrade) {
#ifdef HSTS_HAVE_AP_SSL
        int tls = ap_ssl_conn_is_ssl(c);
#else
        int tls = hsts_ssl_is_https
                  && hsts_ssl_is_https(c->master ? c->master : c);
#endif
        ap_set_module_config(c->conn_config, &hsts_module,
                             tls ? &hsts_conn_tls
                             : upgrade ? NULL : &hsts_conn_plain);
        if (tls) {
            return 1;
        }
    }
    /* TLS ended in front of httpd: the admin vouches with HTTPS=on. */
    https = apr_table_get(r->subprocess_env, "HTTPS");
    return https && !strcasecmp(https, "on");
}

static APR_INLINE int hsts_is_tls(request_rec *r)
{
    const void *known = ap_get_module_config(r->connection->conn_config,
                                             &hsts_module);

    return known == &hsts_conn_tls || hsts_is_tls_slow(r, known);
}

/* The first Strict-Transport-Security value the client would see that we
 * did not set ourselves (err_headers_out goes out first).  Ours lives in
 * headers_out, which an internal redirect starts afresh; when httpd
 * rebuilds a response as an error (prev == r), only ours can be there. */
static const char *hsts_foreign(const request_rec *r,
                                const request_rec *prev)
{
    const char *v;

    if (prev == r) {
        return NULL;
    }
    v = apr_table_get(r->err_headers_out, HSTS_HEADER);
    return v ? v : apr_table_get(r->headers_out, HSTS_HEADER);
}

/* The header the roll-out allows now for `rule`: NULL before the start,
 * the rung's max-age (without includeSubDomains and preload) while the
 * rung is below the target, the target as written once it is reached. */
static const char *hsts_rollout_header(const hsts_rollout *ro,
                                       const hsts_rule *rule,
                                       apr_time_t now)
{
    int k = hsts_rollout_state(&ro->ro, apr_time_sec(now),
                               rule->policy.max_age);

    return k < 0 ? NULL : k == ro->ro.rungs ? rule->header : ro->headers[k];
}

static int hsts_exempt(const request_rec *r, const hsts_srv_conf *sconf)
{
    /* httpd routed the request here by one of the vhost's names (only the
     * address's default vhost takes any Host) and none can be exempt. */
    if (sconf->names_never_exempt && r->server != r->connection->base_server) {
        return 0;
    }
    if (sconf->name_exempt != HSTS_UNSET && r->server->server_hostname
        && !strcmp(r->hostname, r->server->server_hostname)) {
        return sconf->name_exempt;
    }
    return hsts_host_is_exempt(r->hostname);
}

static void hsts_decide(request_rec *r, const request_rec *prev)
{
    const hsts_dir_conf *conf = ap_get_module_config(r->per_dir_config,
                                                     &hsts_module);
    const hsts_rule *rule = conf ? conf->rule : NULL;
    const hsts_srv_conf *sconf;
    const char *value = NULL, *what, *foreign = NULL;
    int keep, debug;

    if (!rule) {
        return;     /* no HSTSPolicy for this request: not ours to touch */
    }
    /* Replacing needs no look at headers_out: setn replaces. */
    keep = conf->upstream == HSTS_UPSTREAM_KEEP;
    debug = APLOGrdebug(r);
    if (keep || debug) {
        foreign = hsts_foreign(r, prev);
    }
    sconf = ap_get_module_config(r->server->module_config, &hsts_module);
    if (!hsts_is_tls(r)) {
        what = "plain-http";    /* RFC 6797 7.2, whoever set it */
    }
    else if (foreign && keep) {
        value = foreign;
        what = "upstream";
    }
    else if (!rule->header) {
        what = "off";
    }
    else if (r->hostname && hsts_exempt(r, sconf)) {
        what = "ip-host";
    }
    else if (!sconf->rollout) {
        value = rule->header;
        what = "sent";
    }
    else {
        value = hsts_rollout_header(sconf->rollout, rule, r->request_time);
        what = !value ? "rollout-pending"
               : value != rule->header ? "rollout" : "sent";
    }

    /* Ours goes in headers_out, not err_headers_out: any entry in
     * err_headers_out costs the response a table overlay in httpd's
     * header filter (~290 instructions, README "Performance").  Nothing
     * can drop headers_out behind us: we run after the handler, and a
     * response httpd turns into an error comes back through here. */
    if (apr_table_elts(r->err_headers_out)->nelts
        && apr_table_get(r->err_headers_out, HSTS_HEADER)) {
        apr_table_unset(r->err_headers_out, HSTS_HEADER);
    }
    if (value) {
        apr_table_setn(r->headers_out, HSTS_HEADER, value);
    }
    else {
        apr_table_unset(r->headers_out, HSTS_HEADER);
    }
    if (rule->clamped && value && value != foreign) {
        what = "clamped";
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, "%s; sending %s",
                      rule->clamped, value);
    }
    /* A request's first decision makes a new note: addn, no scan. */
    if (value || !(hsts_reach & HSTS_REACH_REDIRECT)
        || apr_table_get(r->notes, HSTS_NOTE) != hsts_note_redirect) {
        if (prev == r) {
            apr_table_setn(r->notes, HSTS_NOTE, what);
        }
        else {
            apr_table_addn(r->notes, HSTS_NOTE, what);
        }
    }

    if (debug) {
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r,
                      "%s for %s (status %d, host %s): %s; policy from %s%s",
                      what, r->uri ? r->uri : "-", r->status,
                      r->hostname ? r->hostname : "-",
                      value ? value : "no header", rule->where.source,
                      foreign && value != foreign ? ", replaced upstream "
                      "header" : "");
    }
}

/* f->ctx is the request the header was decided for, so the filter decides
 * once per request and is a pointer compare for every further brigade of a
 * large response.  httpd replaces the request for an internal redirect
 * (ErrorDocument: f->r changes) and rebuilds the headers when it turns a
 * response into an error (413, 416: hsts_insert_error_filter resets f->ctx
 * to hsts_redecide). */
static char hsts_redecide;

/* Out of line, so that the filter, called for every brigade of a large
 * response, stays a compare and a tail call with no registers to save. */
#if defined(__GNUC__)
__attribute__((noinline))
#endif
static apr_status_t hsts_first_brigade(ap_filter_t *f, apr_bucket_brigade *bb)
{
    hsts_decide(f->r, f->ctx == &hsts_redecide ? f->r : f->ctx);
    f->ctx = f->r;
    return ap_pass_brigade(f->next, bb);
}

static apr_status_t hsts_out_filter(ap_filter_t *f, apr_bucket_brigade *bb)
{
    if (f->ctx != f->r) {
        return hsts_first_brigade(f, bb);
    }
    return ap_pass_brigade(f->next, bb);
}

/* Runs only when httpd sends an error response of its own. */
static void hsts_insert_error_filter(request_rec *r)
{
    ap_filter_t *f;

    for (f = r->output_filters; f; f = f->next) {
        if (f->frec == hsts_filter_handle) {
            f->ctx = &hsts_redecide;
            return;
        }
    }
}

/* HSTSRedirect: runs once the per-directory configuration is known and
 * before authentication, so credentials are never asked for over HTTP. */
static int hsts_redirect_hook(request_rec *r)
{
    const hsts_dir_conf *conf = ap_get_module_config(r->per_dir_config,
                                                     &hsts_module);
    const hsts_redirect *rd = conf ? conf->redirect : NULL;
    const char *host, *url;
    int status, v6;

    if (!rd || !rd->args.on || r->main || r->prev || hsts_is_tls(r)
        || r->uri[0] != '/'
        || !strncmp(r->uri, "/.well-known/acme-challenge/", 28)) {
        return DECLINED;
    }
    /* The request's host only if it names this vhost (ServerName or
     * ServerAlias), else the ServerName: a forged Host never chooses
     * where the client goes.  httpd keeps IPv6 literals unbracketed. */
    host = r->hostname;
    if (!host || !ap_matches_request_vhost(r, host, r->server->port)) {
        host = r->server->server_hostname;
    }
    if (!host) {
        return DECLINED;
    }
    v6 = ap_strchr_c(host, ':') != NULL;
    url = apr_pstrcat(r->pool, "https://", v6 ? "[" : "", host,
                      v6 ? "]" : "", rd->port,
                      apr_uri_unparse(r->pool, &r->parsed_uri,
                                      APR_URI_UNP_OMITSITEPART),
                      NULL);
    status = rd->args.status ? rd->args.status
             : (r->method_number == M_GET ? HTTP_MOVED_PERMANENTLY
                                          : HTTP_PERMANENT_REDIRECT);
    apr_table_setn(r->headers_out, "Location", url);
    apr_table_setn(r->notes, HSTS_NOTE, hsts_note_redirect);
    if (APLOGrdebug(r)) {
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, "redirect %d to %s; "
                      "HSTSRedirect from %s", status, url, rd->where.source);
    }
    return status;
}

static int hsts_create_request(request_rec *r)
{
    /* Subrequests share the main request's protocol filters, and an
     * internal redirect carries them over (with f->r updated). */
    if ((hsts_reach & HSTS_REACH_POLICY) && !r->main && !r->prev) {
        ap_add_output_filter_handle(hsts_filter_handle, NULL, r,
                                    r->connection);
    }
    return DECLINED;
}

/* The redirect hook would cost every request a call, so it is registered
 * only when the processed configuration says HSTSRedirect can apply.
 * That is known only now, after httpd sorted its hooks: appended to a
 * sorted list, it runs after the other post_perdir_config hooks, which is
 * still before authentication.  httpd drops all hooks before it reads the
 * configuration again on a restart, so this happens once per reading.
 * (The create_request hook cannot be registered this late: it must run
 * before http_core's, so it stays and checks hsts_reach instead.) */
static int hsts_check_config_reach(apr_pool_t *pconf, apr_pool_t *plog,
                                   apr_pool_t *ptemp, server_rec *s)
{
    int rv = hsts_check_config(ptemp, s, &hsts_reach);

    (void)pconf;
    (void)plog;
    if (hsts_reach & HSTS_REACH_REDIRECT) {
        ap_hook_post_perdir_config(hsts_redirect_hook, NULL, NULL,
                                   APR_HOOK_MIDDLE);
    }
    return rv;
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
    ap_hook_insert_error_filter(hsts_insert_error_filter, NULL, NULL,
                                APR_HOOK_MIDDLE);
    ap_hook_check_config(hsts_check_config_reach, NULL, NULL,
                         APR_HOOK_MIDDLE);
    ap_hook_post_config(hsts_post_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_test_config(hsts_test_config, NULL, NULL, APR_HOOK_MIDDLE);
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
    AP_INIT_TAKE_ARGV("HSTSRedirect", hsts_cmd_redirect, NULL,
                      RSRC_CONF | ACCESS_CONF | OR_FILEINFO,
                      "on|off [status=301|302|307|308] [port=N]: redirect "
                      "plain-HTTP requests to https:// on the same host"),
    AP_INIT_TAKE_ARGV("HSTSRollout", hsts_cmd_rollout, NULL, RSRC_CONF,
                      "start=YYYY-MM-DD [step=7d] [ladder=300,...]: ramp "
                      "max-age up to the vhost's HSTSPolicy"),
    AP_INIT_TAKE_ARGV("HSTSOverrideLimits", hsts_cmd_limits, NULL, RSRC_CONF,
                      "[max-age=MIN..MAX] [includeSubDomains=allow|deny] "
                      "[preload=allow|deny] [off=allow|deny]: what "
                      "HSTSPolicy in .htaccess files may say"),
    AP_INIT_TAKE1("HSTSPreloadCheck", hsts_cmd_preload_check, NULL,
                  RSRC_CONF, "off, warn (default) or strict: check the "
                  "preload list's rules at startup"),
    { NULL }
};
