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
 * insert_filter hooks that mod_headers uses never see.  It decides at
 * filter time, from the request's final per-directory configuration.
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
#include "apr_hash.h"
#include "apr_strings.h"

#if AP_MODULE_MAGIC_AT_LEAST(20120211, 105)
#include "http_ssl.h"
#define HSTS_HAVE_AP_SSL 1
#else
#include "apr_optional.h"
APR_DECLARE_OPTIONAL_FN(int, ssl_is_https, (conn_rec *));
#endif

#include "hsts_policy.h"
#include "hsts_rollout.h"

#define HSTS_HEADER "Strict-Transport-Security"
#define HSTS_NOTE   "hsts"

/* The request notes, compared by address: the redirect's note outranks
 * the filter's later "plain-http", and after an internal redirect the
 * previous request's note says whether the header it left in
 * err_headers_out was ours. */
static const char hsts_note_redirect[] = "redirect";
static const char hsts_note_sent[] = "sent";
static const char hsts_note_rollout[] = "rollout";
static const char hsts_note_clamped[] = "clamped";
static const char hsts_note_upstream[] = "upstream";

/* Its address marks a connection known to be TLS in its conn_config. */
static char hsts_conn_tls;

/* One HSTSPolicy line, with everything the request path needs already
 * computed: the header value (NULL for "off") and where it came from. */
typedef struct {
    const char *header;
    const char *source;         /* scope and file:line, for logs */
    const char *file;
    int line;
    int htaccess;
    int inherit;                /* an "off" that HSTSOverrideLimits denied */
    const char *clamped;        /* what HSTSOverrideLimits changed, or NULL */
    hsts_policy_t policy;
} hsts_rule;

#define HSTS_UNSET         -1
#define HSTS_UPSTREAM_REPLACE 0
#define HSTS_UPSTREAM_KEEP    1

/* One HSTSRedirect line. */
typedef struct {
    int on;
    int status;                 /* 0: 301 for GET/HEAD, 308 otherwise */
    const char *port;           /* ":N", or "" for 443 */
    int port_num;
    const char *source;
    const char *file;
    int line;
} hsts_redirect;

typedef struct {
    const hsts_rule *rule;      /* NULL: unset, inherit */
    int upstream;               /* HSTS_UNSET: inherit; default replace */
    const hsts_redirect *redirect;  /* NULL: unset; default off */
} hsts_dir_conf;

/* One HSTSRollout line, with each rung's start time and header ready for
 * the request path. */
typedef struct {
    hsts_rollout_t ro;
    long long bounds[HSTS_LADDER_MAX + 1];  /* bounds[k]: rung k starts */
    const char *headers[HSTS_LADDER_MAX];   /* "max-age=ladder[k]" */
    const char *source;
} hsts_rollout;

#define HSTS_PRELOAD_OFF    0
#define HSTS_PRELOAD_WARN   1
#define HSTS_PRELOAD_STRICT 2

/* One HSTSOverrideLimits line. */
typedef struct {
    hsts_limits_t limits;
    const char *text;           /* canonical form, for messages and dumps */
    const char *source;
} hsts_limits;

typedef struct {
    const hsts_rollout *rollout;    /* NULL: unset, inherit; default none */
    const hsts_limits *limits;      /* NULL: unset, inherit; default none */
    int preload_check;              /* main server only; default warn */
    /* Not a directive: whether ServerName itself is exempt (an IP literal
     * or localhost), worked out once in post_config so that the common
     * request, Host == ServerName, needs a strcmp instead of a scan.
     * HSTS_UNSET until then. */
    int name_exempt;
} hsts_srv_conf;

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
    return conf;
}

static int hsts_cmd_in_htaccess(const cmd_parms *cmd)
{
    return cmd->path && !(cmd->override & ACCESS_CONF);
}

/* Where the directive being read sits, for logs and dumps: the .htaccess
 * file, or the enclosing section and the file:line. */
static const char *hsts_cmd_source(cmd_parms *cmd)
{
    const ap_directive_t *d = cmd->directive, *sec;

    if (!d || !d->filename) {
        return "the command line";
    }
    if (hsts_cmd_in_htaccess(cmd)) {
        return apr_psprintf(cmd->pool, "%s:%d", d->filename, d->line_num);
    }
    for (sec = d->parent; sec; sec = sec->parent) {
        if (strcasecmp(sec->directive, "<IfModule")
            && strcasecmp(sec->directive, "<IfDefine")
            && strcasecmp(sec->directive, "<IfVersion")
            && strcasecmp(sec->directive, "<IfFile")
            && strcasecmp(sec->directive, "<IfDirective")
            && strcasecmp(sec->directive, "<IfSection")) {
            return apr_psprintf(cmd->pool, "%s %s at %s:%d",
                                sec->directive, sec->args, d->filename,
                                d->line_num);
        }
    }
    return apr_psprintf(cmd->pool, "server config at %s:%d", d->filename,
                        d->line_num);
}

/* A tenant's .htaccess policy outside the vhost's HSTSOverrideLimits is
 * clamped, never refused: a refusal would take the directory down.  What
 * changed is logged with each response that carries it. */
static void hsts_apply_limits(cmd_parms *cmd, hsts_rule *rule,
                              const char *asked)
{
    const hsts_srv_conf *sconf = ap_get_module_config(
        cmd->server->module_config, &hsts_module);
    const hsts_limits *lim = sconf->limits;
    char why[HSTS_ERR_MAX];

    if (!lim) {
        return;
    }
    if (!strcasecmp(asked, "off")) {
        if (lim->limits.deny_off) {
            rule->inherit = 1;
            rule->clamped = apr_psprintf(cmd->pool, "HSTSPolicy in %s "
                                         "asked for \"off\", ignored: "
                                         "HSTSOverrideLimits %s (%s)",
                                         rule->source, lim->text,
                                         lim->source);
        }
        return;
    }
    if (hsts_limits_apply(&lim->limits, &rule->policy, why, sizeof(why))) {
        rule->clamped = apr_psprintf(cmd->pool, "HSTSPolicy in %s asked "
                                     "for \"%s\", %s: HSTSOverrideLimits "
                                     "%s (%s)", rule->source, asked, why,
                                     lim->text, lim->source);
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
    rule->file = cmd->directive ? cmd->directive->filename : NULL;
    rule->line = cmd->directive ? cmd->directive->line_num : 0;
    rule->htaccess = hsts_cmd_in_htaccess(cmd);
    if (strcasecmp(value, "off") != 0) {
        if (hsts_policy_parse(value, &rule->policy, err, sizeof(err)) != 0) {
            return apr_psprintf(cmd->pool, "%s: %s", cmd->cmd->name, err);
        }
    }
    if (rule->htaccess) {
        hsts_apply_limits(cmd, rule, value);
    }
    if (strcasecmp(value, "off") != 0) {
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
    hsts_redirect_t parsed;
    char err[HSTS_ERR_MAX];

    if (hsts_redirect_parse((const char *const *)argv, argc, &parsed,
                            err, sizeof(err)) != 0) {
        return apr_psprintf(cmd->pool, "%s: %s", cmd->cmd->name, err);
    }
    rd->on = parsed.on;
    rd->status = parsed.status;
    rd->port_num = parsed.port;
    rd->port = !parsed.port || parsed.port == 443 ? ""
               : apr_psprintf(cmd->pool, ":%d", parsed.port);
    rd->source = hsts_cmd_source(cmd);
    rd->file = cmd->directive ? cmd->directive->filename : NULL;
    rd->line = cmd->directive ? cmd->directive->line_num : 0;
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
    for (k = 0; k <= ro->ro.rungs; k++) {
        ro->bounds[k] = ro->ro.start + k * ro->ro.step;
    }
    for (k = 0; k < ro->ro.rungs; k++) {
        ro->headers[k] = apr_psprintf(cmd->pool, "max-age=%lu",
                                      ro->ro.ladder[k]);
    }
    ro->source = hsts_cmd_source(cmd);
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
    lim->source = hsts_cmd_source(cmd);
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

/* Once per keep-alive connection, not per request: a TLS connection
 * stays TLS.  Only "TLS" is remembered, so a plain connection upgraded to
 * TLS (RFC 2817, SSLEngine optional) is still seen. */
static int hsts_conn_is_tls(conn_rec *c)
{
    if (ap_get_module_config(c->conn_config, &hsts_module)) {
        return 1;
    }
#ifdef HSTS_HAVE_AP_SSL
    if (!ap_ssl_conn_is_ssl(c)) {
        return 0;
    }
#else
    if (!hsts_ssl_is_https || !hsts_ssl_is_https(c->master ? c->master
                                                           : c)) {
        return 0;
    }
#endif
    ap_set_module_config(c->conn_config, &hsts_module, &hsts_conn_tls);
    return 1;
}

static int hsts_is_tls(request_rec *r)
{
    const char *https;

    if (hsts_conn_is_tls(r->connection)) {
        return 1;
    }
    /* TLS ended in front of httpd: the admin vouches with HTTPS=on. */
    https = apr_table_get(r->subprocess_env, "HTTPS");
    return https && !strcasecmp(https, "on");
}

/* The first Strict-Transport-Security value the client would see that we
 * did not set ourselves (err_headers_out goes out first).  After an
 * internal redirect, err_headers_out still holds what we decided for the
 * previous request: that was ours unless we kept it as upstream. */
static const char *hsts_foreign(request_rec *r, const request_rec *prev)
{
    const char *note = prev ? apr_table_get(prev->notes, HSTS_NOTE) : NULL;
    const char *v;

    if (note == hsts_note_sent || note == hsts_note_rollout
        || note == hsts_note_clamped) {
        if (prev == r) {
            return NULL;    /* an error response rebuilt from our own */
        }
        return apr_table_get(r->headers_out, HSTS_HEADER);
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
    long long t = apr_time_sec(now);
    int k = 0;

    if (t < ro->bounds[0]) {
        return NULL;
    }
    while (k < ro->ro.rungs && t >= ro->bounds[k + 1]) {
        k++;
    }
    if (k == ro->ro.rungs || ro->ro.ladder[k] >= rule->policy.max_age) {
        return rule->header;
    }
    return ro->headers[k];
}

static int hsts_exempt(const request_rec *r)
{
    const hsts_srv_conf *sconf = ap_get_module_config(
        r->server->module_config, &hsts_module);

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
    const char *value = NULL, *what, *foreign = NULL;
    int keep, debug;

    if (!rule) {
        return;     /* no HSTSPolicy for this request: not ours to touch */
    }
    /* Replacing needs no look at err_headers_out: setn replaces. */
    keep = conf->upstream == HSTS_UPSTREAM_KEEP;
    debug = APLOGrdebug(r);
    if (keep || debug) {
        foreign = hsts_foreign(r, prev);
    }
    if (!hsts_is_tls(r)) {
        what = "plain-http";    /* RFC 6797 7.2, whoever set it */
    }
    else if (foreign && keep) {
        value = foreign;
        what = hsts_note_upstream;
    }
    else if (!rule->header) {
        what = "off";
    }
    else if (r->hostname && hsts_exempt(r)) {
        what = "ip-host";
    }
    else {
        const hsts_srv_conf *sconf = ap_get_module_config(
            r->server->module_config, &hsts_module);

        value = rule->header;
        what = hsts_note_sent;
        if (sconf->rollout) {
            value = hsts_rollout_header(sconf->rollout, rule,
                                        r->request_time);
            what = !value ? "rollout-pending"
                   : value != rule->header ? hsts_note_rollout : what;
        }
    }

    if (apr_table_get(r->headers_out, HSTS_HEADER)) {
        apr_table_unset(r->headers_out, HSTS_HEADER);
    }
    if (value) {
        apr_table_setn(r->err_headers_out, HSTS_HEADER, value);
    }
    else {
        apr_table_unset(r->err_headers_out, HSTS_HEADER);
    }
    if (rule->clamped && value && value != foreign) {
        what = hsts_note_clamped;
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, "%s; sending %s",
                      rule->clamped, value);
    }
    /* A request's first decision makes a new note: addn, no scan. */
    if (value || apr_table_get(r->notes, HSTS_NOTE) != hsts_note_redirect) {
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
                      value ? value : "no header", rule->source,
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

static apr_status_t hsts_out_filter(ap_filter_t *f, apr_bucket_brigade *bb)
{
    if (f->ctx != f->r) {
        hsts_decide(f->r, f->ctx == &hsts_redecide ? f->r : f->ctx);
        f->ctx = f->r;
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
    int status;

    if (!rd || !rd->on || r->main || r->prev || hsts_is_tls(r)
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
    url = apr_pstrcat(r->pool, "https://",
                      ap_strchr_c(host, ':') ? "[" : "", host,
                      ap_strchr_c(host, ':') ? "]" : "", rd->port,
                      apr_uri_unparse(r->pool, &r->parsed_uri,
                                      APR_URI_UNP_OMITSITEPART),
                      NULL);
    status = rd->status ? rd->status
             : (r->method_number == M_GET ? HTTP_MOVED_PERMANENTLY
                                          : HTTP_PERMANENT_REDIRECT);
    apr_table_setn(r->headers_out, "Location", url);
    apr_table_setn(r->notes, HSTS_NOTE, hsts_note_redirect);
    if (APLOGrdebug(r)) {
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, "redirect %d to %s; "
                      "HSTSRedirect from %s", status, url, rd->source);
    }
    return status;
}

static int hsts_create_request(request_rec *r)
{
    /* Subrequests share the main request's protocol filters, and an
     * internal redirect carries them over (with f->r updated). */
    if (!r->main && !r->prev) {
        ap_add_output_filter_handle(hsts_filter_handle, NULL, r,
                                    r->connection);
    }
    return DECLINED;
}

/* -- startup checks ---------------------------------------------------- */

static const char *hsts_vhost_name(apr_pool_t *p, const server_rec *s)
{
    if (!s->defn_name) {
        return apr_psprintf(p, "main server %s",
                            s->server_hostname ? s->server_hostname : "");
    }
    return apr_psprintf(p, "vhost %s (%s:%u)",
                        s->server_hostname ? s->server_hostname : "*",
                        s->defn_name, s->defn_line_number);
}

static const hsts_rule *hsts_server_rule(const server_rec *s)
{
    const hsts_dir_conf *conf = ap_get_module_config(s->lookup_defaults,
                                                     &hsts_module);

    return conf ? conf->rule : NULL;
}

static const ap_directive_t *hsts_find_vhost_node(const ap_directive_t *d,
                                                  const server_rec *s)
{
    for (; d; d = d->next) {
        const ap_directive_t *found;

        if (!strcasecmp(d->directive, "<VirtualHost")
            && d->line_num == (int)s->defn_line_number
            && d->filename && !strcmp(d->filename, s->defn_name)) {
            return d;
        }
        if (d->first_child
            && (found = hsts_find_vhost_node(d->first_child, s))) {
            return found;
        }
    }
    return NULL;
}

/* "SSLEngine on" among a section's directives (looking into <IfModule>
 * and the like, not into nested <VirtualHost>). */
static int hsts_tree_has_tls(const ap_directive_t *d)
{
    for (; d; d = d->next) {
        if (!strcasecmp(d->directive, "SSLEngine") && d->args
            && !strncasecmp(d->args, "on", 2)) {
            return 1;
        }
        if (d->first_child && strcasecmp(d->directive, "<VirtualHost")
            && hsts_tree_has_tls(d->first_child)) {
            return 1;
        }
    }
    return 0;
}

/* Whether TLS is configured for the vhost, as far as the config shows. */
static int hsts_vhost_is_tls(const server_rec *s)
{
    const ap_directive_t *node;

    if (!s->defn_name) {
        return hsts_tree_has_tls(ap_conftree);
    }
    node = hsts_find_vhost_node(ap_conftree, s);
    return node && (hsts_tree_has_tls(node->first_child)
                    || hsts_tree_has_tls(ap_conftree));
}

static int hsts_names_match(const server_rec *s, const char *name)
{
    int i;

    if (s->server_hostname && !strcasecmp(s->server_hostname, name)) {
        return 1;
    }
    for (i = 0; s->names && i < s->names->nelts; i++) {
        if (!strcasecmp(APR_ARRAY_IDX(s->names, i, const char *), name)) {
            return 1;
        }
    }
    return 0;
}

typedef struct {
    apr_pool_t *p;
    server_rec *main;
    int mode;
    int problems;
} hsts_check;

static void hsts_preload_say(hsts_check *ck, int problem, const char *where,
                             const char *what)
{
    int level = problem && ck->mode == HSTS_PRELOAD_STRICT ? APLOG_ERR
                                                           : APLOG_WARNING;

    ck->problems += problem;
    ap_log_error(APLOG_MARK, level, 0, ck->main, "HSTSPreloadCheck: %s%s: "
                 "%s", problem ? "" : "hint: ", where, what);
}

/* A <Directory>, <Location>, <Files> or <If> section that configures
 * mod_hsts, with the first virtual host it was found under (vhosts carry
 * the global sections too, so each is kept once). */
typedef struct {
    const server_rec *s;
    const char *label;
    const hsts_dir_conf *dc;
} hsts_section;

static void hsts_collect_list(apr_pool_t *p, apr_hash_t *seen,
                              apr_array_header_t *out, const server_rec *s,
                              const apr_array_header_t *list,
                              const char *kind, const char *kind_re)
{
    ap_conf_vector_t **secs;
    int i;

    if (!list) {
        return;
    }
    secs = (ap_conf_vector_t **)list->elts;
    for (i = 0; i < list->nelts; i++) {
        const hsts_dir_conf *dc = ap_get_module_config(secs[i],
                                                       &hsts_module);
        core_dir_config *cd = ap_get_core_module_config(secs[i]);

        if (dc && (dc->rule || dc->redirect)
            && !apr_hash_get(seen, &secs[i], sizeof(secs[i]))) {
            hsts_section *hs = apr_array_push(out);

            apr_hash_set(seen, &secs[i], sizeof(secs[i]), out);
            hs->s = s;
            hs->dc = dc;
            hs->label = cd->condition ? "<If>"
                        : apr_psprintf(p, "%s %s>", cd->r ? kind_re : kind,
                                       cd->d ? cd->d : "");
        }
        /* <Files> and <If> nested in a <Directory> */
        if (cd->sec_file != list) {
            hsts_collect_list(p, seen, out, s, cd->sec_file, "<Files",
                              "<FilesMatch");
        }
        if (cd->sec_if != list) {
            hsts_collect_list(p, seen, out, s, cd->sec_if, "<If", "<If");
        }
    }
}

static apr_array_header_t *hsts_collect_sections(apr_pool_t *p,
                                                 server_rec *main)
{
    apr_array_header_t *out = apr_array_make(p, 8, sizeof(hsts_section));
    apr_hash_t *seen = apr_hash_make(p);
    server_rec *s;

    for (s = main; s; s = s->next) {
        core_server_config *core = ap_get_core_module_config(
            s->module_config);
        core_dir_config *top = ap_get_core_module_config(s->lookup_defaults);

        hsts_collect_list(p, seen, out, s, core->sec_dir, "<Directory",
                          "<DirectoryMatch");
        hsts_collect_list(p, seen, out, s, core->sec_url, "<Location",
                          "<LocationMatch");
        hsts_collect_list(p, seen, out, s, top->sec_file, "<Files",
                          "<FilesMatch");
        hsts_collect_list(p, seen, out, s, top->sec_if, "<If", "<If");
    }
    return out;
}

static void hsts_check_sections(hsts_check *ck,
                                const apr_array_header_t *sections)
{
    int i;

    for (i = 0; i < sections->nelts; i++) {
        const hsts_section *hs = &APR_ARRAY_IDX(sections, i, hsts_section);
        const hsts_rule *rule = hs->dc->rule;

        if (rule && rule->header && rule->policy.preload) {
            hsts_preload_say(ck, 1, apr_psprintf(ck->p, "%s, %s",
                             hsts_vhost_name(ck->p, hs->s), hs->label),
                             apr_psprintf(ck->p, "HSTSPolicy with preload "
                             "at %s:%d: preload commits the whole domain "
                             "and every subdomain, so it belongs in the "
                             "virtual host, not in a section for a path",
                             rule->file, rule->line));
        }
    }
}

/* HSTS is host-wide in the browser: a path whose policy is off or weaker
 * than its host's does not really opt out, and admins should know. */
static void hsts_check_opt_outs(apr_pool_t *p,
                                const apr_array_header_t *sections)
{
    int i;

    for (i = 0; i < sections->nelts; i++) {
        const hsts_section *hs = &APR_ARRAY_IDX(sections, i, hsts_section);
        const hsts_rule *rule = hs->dc->rule;
        const hsts_rule *host = hsts_server_rule(hs->s);

        if (!rule || !host || !host->header
            || (rule->header && rule->policy.max_age >= host->policy.max_age
                && (rule->policy.include_subdomains
                    || !host->policy.include_subdomains))) {
            continue;
        }
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, hs->s, "HSTSPolicy %s "
                     "in %s at %s:%d, under %s which sends \"%s\": HSTS "
                     "is host-wide in the browser, so this path does not "
                     "really opt out; a browser that got the header "
                     "anywhere on the host keeps using HTTPS here",
                     rule->header ? "weaker" : "off", hs->label, rule->file,
                     rule->line, hsts_vhost_name(p, hs->s), host->header);
    }
}

static void hsts_check_vhost(hsts_check *ck, server_rec *s)
{
    const hsts_rule *rule = hsts_server_rule(s);
    const char *where = hsts_vhost_name(ck->p, s);
    server_rec *t;
    int twin = 0, redirect = 0;

    if (!rule || !rule->header || !rule->policy.preload) {
        return;
    }
    where = apr_psprintf(ck->p, "%s, HSTSPolicy at %s:%d", where,
                         rule->file, rule->line);
    if (!rule->policy.include_subdomains) {
        hsts_preload_say(ck, 1, where, "preload requires includeSubDomains");
    }
    if (rule->policy.max_age == 0) {
        hsts_preload_say(ck, 1, where, "max-age=0 with preload: a domain "
                         "leaving the list must drop preload");
    }
    else if (rule->policy.max_age < 31536000) {
        hsts_preload_say(ck, 1, where, apr_psprintf(ck->p, "preload "
                         "requires max-age of at least 31536000 (1 year), "
                         "got %lu", rule->policy.max_age));
    }
    else if (rule->policy.max_age > 315360000) {
        hsts_preload_say(ck, 0, where, apr_psprintf(ck->p, "max-age %lu "
                         "is more than 10 years; the preload checker warns "
                         "about it", rule->policy.max_age));
    }
    if (!s->server_hostname || !hsts_vhost_is_tls(s)) {
        return;
    }
    for (t = ck->main; t; t = t->next) {
        const hsts_dir_conf *dc;

        if (t == s || !hsts_names_match(t, s->server_hostname)
            || hsts_vhost_is_tls(t)) {
            continue;
        }
        twin = 1;
        dc = ap_get_module_config(t->lookup_defaults, &hsts_module);
        redirect |= dc && dc->redirect && dc->redirect->on;
    }
    if (!redirect) {
        hsts_preload_say(ck, 0, where, apr_psprintf(ck->p, "%s: the preload "
                         "list needs http://%s/ to redirect to https://%s/ "
                         "first (same host); add HSTSRedirect on to the "
                         "plain-HTTP vhost (a mod_rewrite redirect is fine "
                         "too if you have one)", twin ? "no HSTSRedirect on "
                         "in its plain-HTTP twin" : "no plain-HTTP vhost "
                         "with this ServerName", s->server_hostname,
                         s->server_hostname));
    }
}

static int hsts_check_config(apr_pool_t *pconf, apr_pool_t *plog,
                             apr_pool_t *ptemp, server_rec *s)
{
    const hsts_srv_conf *sconf = ap_get_module_config(s->module_config,
                                                      &hsts_module);
    apr_array_header_t *sections;
    hsts_check ck;
    server_rec *v;

    (void)pconf;
    (void)plog;
    ck.p = ptemp;
    ck.main = s;
    ck.mode = sconf->preload_check == HSTS_UNSET ? HSTS_PRELOAD_WARN
                                                 : sconf->preload_check;
    ck.problems = 0;
    /* httpd reads the config twice at startup: say it once, on the run
     * that serves (or on the one that is only a test). */
    if (ap_state_query(AP_SQ_MAIN_STATE) == AP_SQ_MS_CREATE_PRE_CONFIG
        && ap_state_query(AP_SQ_RUN_MODE) == AP_SQ_RM_NORMAL) {
        return OK;
    }
    sections = hsts_collect_sections(ptemp, s);
    hsts_check_opt_outs(ptemp, sections);
    if (ck.mode == HSTS_PRELOAD_OFF) {
        return OK;
    }
    hsts_check_sections(&ck, sections);
    for (v = s; v; v = v->next) {
        hsts_check_vhost(&ck, v);
    }
    if (ck.problems && ck.mode == HSTS_PRELOAD_STRICT) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s, "HSTSPreloadCheck strict: "
                     "%d preload problem(s), refusing to start",
                     ck.problems);
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    return OK;
}

static const char *hsts_day(apr_pool_t *p, long long t)
{
    apr_time_exp_t tm;
    char buf[32];
    apr_size_t len;

    apr_time_exp_gmt(&tm, apr_time_from_sec(t));
    apr_strftime(buf, &len, sizeof(buf), t % 86400 ? "%Y-%m-%d %H:%M:%S UTC"
                                                   : "%Y-%m-%d", &tm);
    return apr_pstrdup(p, buf);
}

/* -- apachectl -t -D DUMP_HSTS ---------------------------------------- */

static const char *hsts_json(apr_pool_t *p, const char *s)
{
    apr_size_t n = 2;
    const char *c;
    char *out, *o;

    if (!s) {
        return "null";
    }
    for (c = s; *c; c++) {
        n += ((unsigned char)*c < 0x20 || *c == '"' || *c == '\\') ? 6 : 1;
    }
    o = out = apr_palloc(p, n + 1);
    *o++ = '"';
    for (c = s; *c; c++) {
        if (*c == '"' || *c == '\\') {
            *o++ = '\\';
            *o++ = *c;
        }
        else if ((unsigned char)*c < 0x20) {
            apr_snprintf(o, 7, "\\u%04x", (unsigned char)*c);
            o += 6;
        }
        else {
            *o++ = *c;
        }
    }
    *o++ = '"';
    *o = '\0';
    return out;
}

static const char *hsts_json_bool(int b)
{
    return b ? "true" : "false";
}

static const char *hsts_json_policy(apr_pool_t *p, const hsts_rule *rule)
{
    if (!rule) {
        return "{\"state\":\"unset\",\"header\":null,\"source\":null}";
    }
    if (!rule->header) {
        return apr_psprintf(p, "{\"state\":\"off\",\"header\":null,"
                            "\"source\":%s,\"file\":%s,\"line\":%d}",
                            hsts_json(p, rule->source),
                            hsts_json(p, rule->file), rule->line);
    }
    return apr_psprintf(p, "{\"state\":\"on\",\"max_age\":%lu,"
                        "\"include_subdomains\":%s,\"preload\":%s,"
                        "\"header\":%s,\"source\":%s,\"file\":%s,"
                        "\"line\":%d}", rule->policy.max_age,
                        hsts_json_bool(rule->policy.include_subdomains),
                        hsts_json_bool(rule->policy.preload),
                        hsts_json(p, rule->header),
                        hsts_json(p, rule->source), hsts_json(p, rule->file),
                        rule->line);
}

static const char *hsts_json_redirect(apr_pool_t *p, const hsts_redirect *rd)
{
    if (!rd) {
        return "{\"on\":false,\"source\":null}";
    }
    return apr_psprintf(p, "{\"on\":%s,\"status\":%s,\"port\":%d,"
                        "\"source\":%s}", hsts_json_bool(rd->on),
                        rd->status ? apr_itoa(p, rd->status) : "null",
                        rd->port_num ? rd->port_num : 443,
                        hsts_json(p, rd->source));
}

static const char *hsts_json_limits(apr_pool_t *p, const hsts_limits *lim)
{
    const hsts_limits_t *l;

    if (!lim) {
        return "null";
    }
    l = &lim->limits;
    return apr_psprintf(p, "{\"min_max_age\":%s,\"max_max_age\":%s,"
                        "\"include_subdomains\":\"%s\",\"preload\":\"%s\","
                        "\"off\":\"%s\",\"text\":%s,\"source\":%s}",
                        l->min_age ? apr_psprintf(p, "%lu", l->min_age)
                                   : "null",
                        l->max_age < HSTS_MAX_AGE_LIMIT
                        ? apr_psprintf(p, "%lu", l->max_age) : "null",
                        l->deny_subdomains ? "deny" : "allow",
                        l->deny_preload ? "deny" : "allow",
                        l->deny_off ? "deny" : "allow",
                        hsts_json(p, lim->text), hsts_json(p, lim->source));
}

static const char *hsts_json_rollout(apr_pool_t *p, const hsts_rollout *ro,
                                     const hsts_rule *rule, long long now)
{
    const char *state, *header, *next = "null", *ladder = "";
    int k, i;

    if (!ro) {
        return "null";
    }
    for (i = 0; i < ro->ro.rungs; i++) {
        ladder = apr_psprintf(p, "%s%s%lu", ladder, i ? "," : "",
                              ro->ro.ladder[i]);
    }
    k = hsts_rollout_rung(&ro->ro, now);
    if (k < 0) {
        state = "pending";
        header = NULL;
        next = hsts_json(p, hsts_day(p, ro->bounds[0]));
    }
    else if (!rule || !rule->header || k == ro->ro.rungs
             || ro->ro.ladder[k] >= rule->policy.max_age) {
        state = "complete";
        header = rule ? rule->header : NULL;
    }
    else {
        state = "ramping";
        header = ro->headers[k];
        next = hsts_json(p, hsts_day(p, ro->bounds[k + 1]));
    }
    return apr_psprintf(p, "{\"start\":%s,\"step_seconds\":%"
                        APR_INT64_T_FMT ","
                        "\"ladder\":[%s],\"rungs\":%d,\"rung\":%d,"
                        "\"state\":\"%s\",\"header_now\":%s,"
                        "\"next_change\":%s,\"source\":%s}",
                        hsts_json(p, hsts_day(p, ro->ro.start)),
                        (apr_int64_t)ro->ro.step, ladder, ro->ro.rungs,
                        k < 0 ? 0 : k >= ro->ro.rungs ? ro->ro.rungs : k + 1,
                        state, hsts_json(p, header), next,
                        hsts_json(p, ro->source));
}

static const char *hsts_json_vhost_ref(apr_pool_t *p, const server_rec *s)
{
    return apr_psprintf(p, "\"vhost\":%s,\"vhost_file\":%s,"
                        "\"vhost_line\":%u",
                        hsts_json(p, s->server_hostname),
                        hsts_json(p, s->defn_name), s->defn_line_number);
}

/* One JSON object per line: each virtual host, then each section of the
 * main config that configures mod_hsts.  A stable interface for control
 * panels; the README documents the schema. */
static void hsts_test_config(apr_pool_t *p, server_rec *main)
{
    apr_array_header_t *sections;
    apr_file_t *out;
    long long now = apr_time_sec(apr_time_now());
    server_rec *s;
    int i;

    if (!ap_exists_config_define("DUMP_HSTS")
        || apr_file_open_stdout(&out, p) != APR_SUCCESS) {
        return;
    }
    for (s = main; s; s = s->next) {
        const hsts_srv_conf *sc = ap_get_module_config(s->module_config,
                                                       &hsts_module);
        const hsts_dir_conf *dc = ap_get_module_config(s->lookup_defaults,
                                                       &hsts_module);
        const char *aliases = "", *addrs = "";
        server_addr_rec *a;

        for (i = 0; s->names && i < s->names->nelts; i++) {
            aliases = apr_psprintf(p, "%s%s%s", aliases, i ? "," : "",
                                   hsts_json(p, APR_ARRAY_IDX(s->names, i,
                                                              char *)));
        }
        for (i = 0; s->wild_names && i < s->wild_names->nelts; i++) {
            aliases = apr_psprintf(p, "%s%s%s", aliases, *aliases ? "," : "",
                                   hsts_json(p, APR_ARRAY_IDX(s->wild_names,
                                                              i, char *)));
        }
        for (a = s->addrs; a; a = a->next) {
            addrs = apr_psprintf(p, "%s%s{\"host\":%s,\"port\":%u}", addrs,
                                 a == s->addrs ? "" : ",",
                                 hsts_json(p, a->virthost),
                                 (unsigned)a->host_port);
        }
        apr_file_printf(out, "{\"type\":\"vhost\",\"server_name\":%s,"
                        "\"aliases\":[%s],\"addresses\":[%s],"
                        "\"file\":%s,\"line\":%u,\"main_server\":%s,"
                        "\"tls\":%s,\"policy\":%s,\"upstream\":\"%s\","
                        "\"redirect\":%s,\"override_limits\":%s,"
                        "\"rollout\":%s}\n",
                        hsts_json(p, s->server_hostname), aliases, addrs,
                        hsts_json(p, s->defn_name), s->defn_line_number,
                        hsts_json_bool(!s->defn_name),
                        hsts_json_bool(hsts_vhost_is_tls(s)),
                        hsts_json_policy(p, dc ? dc->rule : NULL),
                        dc && dc->upstream == HSTS_UPSTREAM_KEEP ? "keep"
                                                                 : "replace",
                        hsts_json_redirect(p, dc ? dc->redirect : NULL),
                        hsts_json_limits(p, sc->limits),
                        hsts_json_rollout(p, sc->rollout,
                                          dc ? dc->rule : NULL, now));
    }
    sections = hsts_collect_sections(p, main);
    for (i = 0; i < sections->nelts; i++) {
        const hsts_section *hs = &APR_ARRAY_IDX(sections, i, hsts_section);
        const hsts_rule *rule = hs->dc->rule;
        const hsts_redirect *rd = hs->dc->redirect;

        apr_file_printf(out, "{\"type\":\"section\",\"section\":%s,"
                        "\"file\":%s,\"line\":%d,%s,\"policy\":%s,"
                        "\"redirect\":%s}\n", hsts_json(p, hs->label),
                        hsts_json(p, rule ? rule->file : rd->file),
                        rule ? rule->line : rd->line,
                        hsts_json_vhost_ref(p, hs->s),
                        hsts_json_policy(p, rule),
                        rd ? hsts_json_redirect(p, rd) : "null");
    }
}

/* Work out each server's name_exempt, and say where each vhost's roll-out
 * stands, once the logs are open. */
static int hsts_post_config(apr_pool_t *pconf, apr_pool_t *plog,
                            apr_pool_t *ptemp, server_rec *s)
{
    server_rec *v;
    long long now = apr_time_sec(apr_time_now());

    (void)pconf;
    (void)plog;
    for (v = s; v; v = v->next) {
        hsts_srv_conf *sc = ap_get_module_config(v->module_config,
                                                 &hsts_module);

        if (v->server_hostname) {
            sc->name_exempt = hsts_host_is_exempt(v->server_hostname);
        }
    }
    if (ap_state_query(AP_SQ_MAIN_STATE) == AP_SQ_MS_CREATE_PRE_CONFIG) {
        return OK;
    }
    for (v = s; v; v = v->next) {
        const hsts_srv_conf *sc = ap_get_module_config(v->module_config,
                                                       &hsts_module);
        const hsts_rollout *ro = sc->rollout;
        const hsts_rule *rule = hsts_server_rule(v);
        int k;

        if (!ro) {
            continue;
        }
        if (!rule || !rule->header) {
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, v, "HSTSRollout "
                         "(%s) in %s has no HSTSPolicy to roll out to",
                         ro->source, hsts_vhost_name(ptemp, v));
            continue;
        }
        k = hsts_rollout_rung(&ro->ro, now);
        if (k < 0) {
            ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, v, "HSTSRollout %s: "
                         "starts %s with %s; no header until then",
                         hsts_vhost_name(ptemp, v),
                         hsts_day(ptemp, ro->ro.start), ro->headers[0]);
        }
        else if (k == ro->ro.rungs
                 || ro->ro.ladder[k] >= rule->policy.max_age) {
            ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, v, "HSTSRollout %s: "
                         "complete, sending %s", hsts_vhost_name(ptemp, v),
                         rule->header);
        }
        else {
            ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, v, "HSTSRollout %s: "
                         "rung %d of %d: %s until %s, then %s",
                         hsts_vhost_name(ptemp, v), k + 1, ro->ro.rungs,
                         ro->headers[k], hsts_day(ptemp, ro->bounds[k + 1]),
                         k + 1 < ro->ro.rungs
                         && ro->ro.ladder[k + 1] < rule->policy.max_age
                         ? ro->headers[k + 1] + 8 : rule->header);
        }
    }
    return OK;
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
    ap_hook_post_perdir_config(hsts_redirect_hook, NULL, NULL,
                               APR_HOOK_MIDDLE);
    ap_hook_check_config(hsts_check_config, NULL, NULL, APR_HOOK_MIDDLE);
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
