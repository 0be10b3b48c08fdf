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
 *       server, vhost, <Directory>/<Location>/<Files>/<If>/<Proxy>,
 *       .htaccess (AllowOverride FileInfo).  Parsed, validated and
 *       formatted into the canonical header when the configuration is
 *       read.
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
 *   HSTSLockoutCheck off|warn|strict [ca=FILE] [expiry=DAYS]
 *       server config.  Every name a policy pins checked at startup for a
 *       TLS vhost and a certificate that covers it, is valid and verifies
 *       (src/hsts_cert.c).
 *   HSTSOverrideLimits [max-age=MIN..MAX] [includeSubDomains=allow|deny]
 *                      [preload=allow|deny] [off=allow|deny]
 *       server, vhost.  Bounds for what goes out where tenants' .htaccess
 *       files take part: a policy outside them is clamped, never refused.
 * HSTSPolicy, HSTSRedirect and HSTSUpstreamHeader may not stand in
 * <Limit>: nothing here is per method.
 *
 * `apachectl -t -D DUMP_HSTS` prints the effective configuration as JSON
 * lines for control panels.
 *
 * Merge order: httpd's own per-directory order (server, vhost,
 * <Directory>, .htaccess, <Files>, <Location>, <If>); the nearest scope
 * that says HSTSPolicy (or HSTSRedirect) wins, and scopes that say nothing
 * inherit.  HSTSRollout and HSTSOverrideLimits are per virtual host,
 * inherited from the server.
 *
 * How: a protocol-level output filter added from the create_request hook
 * sits in front of the HTTP/1 header filter and HTTP/2's response filter,
 * so it sees every response httpd sends for the request, including early
 * 400s, TRACE, "OPTIONS *", error documents and cache hits, which the
 * insert_filter hooks that mod_headers uses never see.  It decides once
 * per response, from the request's final per-directory configuration,
 * and puts the header in headers_out (an entry in err_headers_out would
 * cost every response a table overlay).  A response httpd sends before
 * it chose the virtual host from the Host header (an error while reading
 * the request) takes the policy of the virtual host the client named:
 * its Host (HTTP/2's :authority) if read, as httpd would read it, else
 * the name in the TLS handshake (SNI).  That is the host a browser files
 * it under.
 *
 * Files, one concern each: this one is the request path and the hooks;
 * src/hsts_config.c the directives and merges; src/hsts_report.c the
 * checks made when the configuration is read and where they are told;
 * src/hsts_preload.c the preload list's rules, src/hsts_cert.c the
 * certificates HSTSLockoutCheck reads; src/hsts_status.c the
 * hsts-status handler and server-status section, src/hsts_json.c the
 * JSON writer it shares with DUMP_HSTS; the logic that knows nothing of
 * httpd is in src/hsts_policy.c, src/hsts_rollout.c, src/hsts_url.c and
 * src/hsts_lockout.c.
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
#if APR_HAS_THREADS
#include "apr_thread_mutex.h"
#endif

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
APR_DECLARE_OPTIONAL_FN(char *, ssl_var_lookup,
                        (apr_pool_t *, server_rec *, conn_rec *,
                         request_rec *, char *));
#endif

/* httpd 2.5 sends interim responses (1xx) through the request's protocol
 * filters as response buckets, so a module can see their headers. */
#if AP_MODULE_MAGIC_AT_LEAST(20211221, 6)
#define HSTS_HAVE_RESPONSE_BUCKETS 1
#endif

#include "mod_hsts_version.h"
#include "mod_hsts.h"
#include "hsts_url.h"

#define HSTS_HEADER "Strict-Transport-Security"
#define HSTS_NOTE   "hsts"

/* A host name and the vhost it selects among a connection's. */
typedef struct {
    const char *name;
    server_rec *server;
} hsts_named;

/* What a connection is known to be, worked out when first needed. */
typedef struct {
    int tls;                    /* a TLS connection stays TLS */
    int sni_known;
    hsts_named sni;             /* the host named in the handshake, if any */
} hsts_conn;

static void hsts_register_hooks(apr_pool_t *p);
/* Whether some directory lets tenants' .htaccess files in
 * (hsts_override_needs): then HSTSOverrideLimits needs the filter even
 * where no HSTSPolicy is said. */
static int hsts_grants;

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
static APR_OPTIONAL_FN_TYPE(ssl_var_lookup) *hsts_ssl_var_lookup;
#endif

/* -- the request path -------------------------------------------------- */

static hsts_conn *hsts_conn_get(conn_rec *c)
{
    hsts_conn *hc = ap_get_module_config(c->conn_config, &hsts_module);

    if (!hc) {
        hc = apr_pcalloc(c->pool, sizeof(*hc));
        ap_set_module_config(c->conn_config, &hsts_module, hc);
    }
    return hc;
}

/* Only "TLS" is remembered: before 2.4.64 a plain connection could still
 * turn TLS (RFC 2817 upgrade, SSLEngine optional). */
static int hsts_conn_check_tls(conn_rec *c)
{
    hsts_conn *hc = hsts_conn_get(c);

#ifdef HSTS_HAVE_AP_SSL
    hc->tls = ap_ssl_conn_is_ssl(c);
#else
    hc->tls = hsts_ssl_is_https
              && hsts_ssl_is_https(c->master ? c->master : c);
#endif
    return hc->tls;
}

/* Asked three times a request (two hooks and the filter): inline. */
static APR_INLINE int hsts_conn_is_tls(conn_rec *c)
{
    const hsts_conn *hc = ap_get_module_config(c->conn_config,
                                               &hsts_module);

    return (hc && hc->tls) || hsts_conn_check_tls(c);
}

/* The request as the client sent it, before any internal redirect. */
static APR_INLINE const request_rec *hsts_original(const request_rec *r)
{
    while (r->prev) {
        r = r->prev;
    }
    return r;
}

/* httpd's own test (vhost.c, matches_aliases; mod_ssl's for SNI is the
 * same): the ServerName or a ServerAlias without case, a wildcard alias
 * by ap_strcasecmp_match.  (httpd falls back to a <VirtualHost> address
 * spelled as a DNS name when no name matches; such a vhost is not told
 * apart here.) */
static int hsts_server_is_named(const server_rec *s, const char *name)
{
    const char *alias;
    int i;

    if (s->server_hostname && !ap_cstr_casecmp(name, s->server_hostname)) {
        return 1;
    }
    for (i = 0; s->names && i < s->names->nelts; i++) {
        alias = APR_ARRAY_IDX(s->names, i, const char *);
        if (alias && !ap_cstr_casecmp(name, alias)) {
            return 1;
        }
    }
    for (i = 0; s->wild_names && i < s->wild_names->nelts; i++) {
        alias = APR_ARRAY_IDX(s->wild_names, i, const char *);
        if (alias && !ap_strcasecmp_match(name, alias)) {
            return 1;
        }
    }
    return 0;
}

static int hsts_name_match(void *baton, conn_rec *c, server_rec *s)
{
    hsts_named *n = baton;

    (void)c;
    if (hsts_server_is_named(s, n->name)) {
        n->server = s;
        return 1;
    }
    return 0;
}

/* The vhost among the address's name-based ones that `name` selects, as
 * httpd and mod_ssl select it: the one with that ServerName or a matching
 * ServerAlias, else the address's default. */
static server_rec *hsts_vhost_named(conn_rec *c, const char *name)
{
    conn_rec *tc = c->master ? c->master : c;
    hsts_named n;

    n.name = name;
    n.server = NULL;
    return ap_vhost_iterate_given_conn(tc, hsts_name_match, &n)
           ? n.server : tc->base_server;
}

/* The vhost a TLS connection is for, as the client named it in the
 * handshake (SNI); NULL when it named no host. */
static server_rec *hsts_sni_server(conn_rec *c, const char **sni)
{
    conn_rec *tc = c->master ? c->master : c;
    hsts_conn *hc = hsts_conn_get(c);

    if (!hc->sni_known) {
#ifdef HSTS_HAVE_AP_SSL
        hc->sni.name = ap_ssl_var_lookup(c->pool, tc->base_server, tc, NULL,
                                         "SSL_TLS_SNI");
#else
        hc->sni.name = hsts_ssl_var_lookup
                       ? hsts_ssl_var_lookup(c->pool, tc->base_server, tc,
                                             NULL, (char *)"SSL_TLS_SNI")
                       : NULL;
#endif
        if (hc->sni.name && *hc->sni.name) {
            hc->sni.server = hsts_vhost_named(c, hc->sni.name);
        }
        else {
            hc->sni.name = NULL;
        }
        hc->sni_known = 1;
    }
    *sni = hc->sni.name;
    return hc->sni.server;
}

/* Whether httpd has yet to choose the request's vhost by its host: no
 * name at all, or an absolute request URI's host as the client sent it
 * (read with the request line, before the headers).  httpd replaces
 * r->hostname with its own normalised copy when it chooses
 * (vhost.c, fix_hostname).  An internal redirect inherits the original's
 * r->hostname: ask the original. */
static int hsts_vhost_unchosen(const request_rec *r)
{
    r = hsts_original(r);
    return !r->hostname || r->hostname == r->parsed_uri.hostname;
}

/* The vhost the client meant, for a response httpd sends before it chose
 * one from the Host (an error while reading the request, or no Host at
 * all: r->server is just the address's default).  The host an absolute
 * request URI names, else the Host header, if the request got as far as
 * that and it is a host name (HTTP/2 puts :authority there, and one
 * HTTP/2 connection serves every host its certificate covers), taken as
 * httpd takes it (hsts_host_canon: "OFF.Example.:443" is example's
 * "off.example") into buf; else the name in the TLS handshake.  NULL
 * when the client named none. */
static server_rec *hsts_meant_server(request_rec *r, char *buf,
                                     const char **host)
{
    const char *h = hsts_original(r)->hostname;

    if (!h) {
        h = apr_table_get(r->headers_in, "Host");
    }
    if (h && hsts_host_canon(buf, HSTS_HOST_BUF, h)) {
        *host = buf;
        return hsts_vhost_named(r->connection, buf);
    }
    return hsts_sni_server(r->connection, host);
}

static int hsts_exempt(const conn_rec *c, const server_rec *s,
                       const hsts_srv_conf *sconf, const char *host)
{
    /* The vhost was chosen by one of its names (only the address's
     * default vhost takes any name) and none of them can be exempt. */
    if (sconf->names_never_exempt && s != c->base_server) {
        return 0;
    }
    if (sconf->name_exempt != HSTS_UNSET && s->server_hostname
        && !strcmp(host, s->server_hostname)) {
        return sconf->name_exempt;
    }
    return hsts_host_is_exempt(host);
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

/* The directory where tenants can act on this request: the deepest one
 * on its path whose AllowOverride grants any class, or under an
 * AllowOverrideList in force (hsts_override_needs says why any grant
 * counts), whether or not a .htaccess file is there, or NULL.  A tenant
 * cannot leave such a directory by deleting its .htaccess.  httpd keeps
 * one entry per directory it looked in, deepest first (where
 * AllowOverride was never said it looks too, allowing nothing); an
 * internal redirect starts from the original's, whose tenants' headers
 * it carries over.  (Those entries leave override_list unset: the
 * request's own core configuration says.) */
static const char *hsts_tenant_dir(const request_rec *r)
{
    const struct htaccess_result *ht;
    const core_dir_config *cd;

    for (ht = r->htaccess; ht; ht = ht->next) {
        if (ht->override & OR_ALL) {
            return ht->dir;
        }
    }
    cd = r->htaccess ? ap_get_core_module_config(r->per_dir_config) : NULL;
    return cd && cd->override_list && !apr_is_empty_table(cd->override_list)
           ? r->htaccess->dir : NULL;
}

/* A header someone else set goes out as it is (HSTSUpstreamHeader keep,
 * or no HSTSPolicy at all), except where tenants can act: there a tenant
 * may have set it (Header, RewriteRule, its own application), so it
 * stays within the vhost's HSTSOverrideLimits like a tenant's
 * HSTSPolicy.  A value that is not valid, or a revocation under
 * off=deny, gives way to the policy in force (none, without one). */
static const char *hsts_kept(request_rec *r, const hsts_rule *rule,
                             const hsts_limits *lim, const char *foreign,
                             const char **clamped)
{
    const char *dir = lim ? hsts_tenant_dir(r) : NULL;
    hsts_policy_t p;
    char why[HSTS_ERR_MAX], header[HSTS_HEADER_MAX];
    const char *change, *value = rule->header;

    if (!dir) {
        return foreign;
    }
    if (hsts_policy_parse(foreign, &p, why, sizeof(why)) != 0) {
        change = apr_psprintf(r->pool, "not a valid value (%s), %s", why,
                              value ? "replaced by the policy in force"
                                    : "removed");
    }
    else if (p.max_age == 0 && lim->limits.deny_off) {
        change = value ? "a revocation, replaced by the policy in force"
                       : "a revocation, removed";
    }
    else if (hsts_limits_apply(&lim->limits, &p, why, sizeof(why))) {
        hsts_policy_format(&p, header, sizeof(header));
        change = apr_pstrdup(r->pool, why);
        value = apr_pstrdup(r->pool, header);
    }
    else {
        return foreign;
    }
    *clamped = apr_psprintf(r->pool, "%s header \"%s\" (not an "
                            "HSTSPolicy) under %s, where tenants' .htaccess "
                            "files may act: %s: HSTSOverrideLimits %s (%s)",
                            HSTS_HEADER, foreign, dir, change, lim->text,
                            lim->where.source);
    return value;
}

/* Where no HSTSPolicy applies, HSTSOverrideLimits still bounds what a
 * tenant sends: it stands for the missing policy, and a header someone
 * else set is held as under keep. */
static const hsts_rule hsts_no_policy = {
    NULL, { "no HSTSPolicy", NULL, 0 }, 0, NULL, { 0, 0, 0 }
};

/* Each distinct clamp is logged once per child process, so that a client
 * repeating a request cannot fill the disk; a new configuration
 * generation starts new children, which say it again.  The request note
 * says "clamped" on every response. */
#define HSTS_WARNED_MAX 256

static apr_pool_t *hsts_warned_pool;
static apr_hash_t *hsts_warned;
static int hsts_warned_full;
#if APR_HAS_THREADS
static apr_thread_mutex_t *hsts_warned_lock;
#endif

static void hsts_child_init(apr_pool_t *p, server_rec *s)
{
    (void)s;
    hsts_warned_pool = p;
    hsts_warned = apr_hash_make(p);
    hsts_warned_full = 0;
#if APR_HAS_THREADS
    if (apr_thread_mutex_create(&hsts_warned_lock, APR_THREAD_MUTEX_DEFAULT,
                                p) != APR_SUCCESS) {
        hsts_warned_lock = NULL;
    }
#endif
}

static void hsts_warn_clamped(request_rec *r, const char *clamped,
                              const char *value)
{
    int say = 0, full = 0;

#if APR_HAS_THREADS
    if (hsts_warned_lock) {
        apr_thread_mutex_lock(hsts_warned_lock);
    }
#endif
    if (!hsts_warned) {
        say = 1;
    }
    else if (!apr_hash_get(hsts_warned, clamped, APR_HASH_KEY_STRING)) {
        if (apr_hash_count(hsts_warned) < HSTS_WARNED_MAX) {
            apr_hash_set(hsts_warned, apr_pstrdup(hsts_warned_pool, clamped),
                         APR_HASH_KEY_STRING, "");
            say = 1;
        }
        else if (!hsts_warned_full) {
            hsts_warned_full = full = 1;
        }
    }
#if APR_HAS_THREADS
    if (hsts_warned_lock) {
        apr_thread_mutex_unlock(hsts_warned_lock);
    }
#endif
    if (say) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, "%s; sending %s "
                      "(said once per child process)", clamped,
                      value ? value : "no header");
    }
    else if (full) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, "%d different "
                      "HSTSOverrideLimits clamps logged by this child "
                      "process; further ones are not (the access log's "
                      "%%{hsts}n still says clamped)", HSTS_WARNED_MAX);
    }
}

/* What goes out for one response. */
typedef struct {
    const hsts_rule *rule;      /* NULL: no HSTSPolicy, not ours to touch */
    const char *value;          /* the header, or NULL for none */
    const char *what;           /* the note */
    const char *foreign;        /* a header we did not set, if looked at */
    const char *clamped;        /* what HSTSOverrideLimits changed */
    const char *host;
    char hostbuf[HSTS_HOST_BUF];    /* the host of an early error */
} hsts_decision;

/* The first Strict-Transport-Security value the client would see that we
 * did not set ourselves (err_headers_out goes out first).  Ours is never
 * there: it lives in headers_out, which an internal redirect starts
 * afresh and which httpd clears when it turns a response into an error
 * (our filter then decides again). */
static const char *hsts_foreign(const apr_table_t *first,
                                const apr_table_t *then)
{
    const char *v = first ? apr_table_get(first, HSTS_HEADER) : NULL;

    return v ? v : then ? apr_table_get(then, HSTS_HEADER) : NULL;
}

/* HTTPS=on as it stood when the request had been read: a TLS proxy in
 * front, vouched for by the admin (hsts_post_read_request). */
static int hsts_vouched(const request_rec *r)
{
    /* an internal redirect: the original's word */
    return ap_get_module_config(hsts_original(r)->request_config,
                                &hsts_module) != NULL;
}

static void hsts_choose(request_rec *r, const apr_table_t *first,
                        const apr_table_t *then, int debug, hsts_decision *d)
{
    conn_rec *c = r->connection;
    const hsts_dir_conf *conf = ap_get_module_config(r->per_dir_config,
                                                     &hsts_module);
    server_rec *s = r->server;
    const hsts_srv_conf *sconf;
    int tls = hsts_conn_is_tls(c), keep;

    d->value = d->foreign = d->clamped = NULL;
    d->host = r->hostname;
    if (tls && hsts_vhost_unchosen(r)) {
        s = hsts_meant_server(r, d->hostbuf, &d->host);
        if (s) {
            conf = ap_get_module_config(s->lookup_defaults, &hsts_module);
        }
    }
    d->rule = conf ? conf->rule : NULL;
    keep = conf && conf->upstream == HSTS_UPSTREAM_KEEP;
    sconf = s ? ap_get_module_config(s->module_config, &hsts_module) : NULL;
    if (!d->rule) {
        /* no HSTSPolicy for this response: not ours, but for limits */
        if (!sconf || !sconf->limits || !hsts_tenant_dir(r)
            || !(d->foreign = hsts_foreign(first, then))) {
            return;
        }
        d->rule = &hsts_no_policy;
        keep = 1;
    }
    else if (keep || debug) {
        d->foreign = hsts_foreign(first, then);
    }
    if (!tls && !hsts_vouched(r)) {
        d->what = "plain-http";     /* RFC 6797 7.2, whoever set it */
        return;
    }
    if (!s) {
        d->what = "unknown-host";   /* never another vhost's policy */
        return;
    }
    if (d->foreign && keep) {
        d->value = hsts_kept(r, d->rule, sconf->limits, d->foreign,
                             &d->clamped);
        d->what = d->clamped ? "clamped" : "upstream";
        return;
    }
    if (!d->rule->header) {
        d->what = "off";
        return;
    }
    if (d->host && hsts_exempt(c, s, sconf, d->host)) {
        d->what = "ip-host";
        return;
    }
    if (!sconf->rollout) {
        d->value = d->rule->header;
        d->what = "sent";
    }
    else {
        d->value = hsts_rollout_header(sconf->rollout, d->rule,
                                       r->request_time);
        d->what = !d->value ? "rollout-pending"
                  : d->value != d->rule->header ? "rollout" : "sent";
    }
    if (d->value && d->rule->clamped) {
        d->clamped = d->rule->clamped;
        d->what = "clamped";
    }
}

static void hsts_decide(request_rec *r)
{
    hsts_decision d;
    int debug = APLOGrdebug(r);

    hsts_choose(r, r->err_headers_out, r->headers_out, debug, &d);
    if (!d.rule) {
        return;
    }
    /* Ours goes in headers_out, not err_headers_out: any entry in
     * err_headers_out costs the response a table overlay in httpd's
     * header filter (bench/RESULTS.md).  Nothing can drop headers_out
     * behind us: we run after the handler, and a response httpd turns
     * into an error comes back through here. */
    if (apr_table_elts(r->err_headers_out)->nelts) {
        apr_table_unset(r->err_headers_out, HSTS_HEADER);
    }
    if (d.value) {
        apr_table_setn(r->headers_out, HSTS_HEADER, d.value);
    }
    else {
        apr_table_unset(r->headers_out, HSTS_HEADER);
    }
    if (d.clamped) {
        hsts_warn_clamped(r, d.clamped, d.value);
    }
    /* The note is new (hsts_insert_error_filter drops the one of a
     * response httpd replaced): addn, no scan.  A redirect's note
     * outranks the "plain-http" that follows it. */
    if (d.value || !apr_table_get(r->notes, HSTS_NOTE)) {
        apr_table_addn(r->notes, HSTS_NOTE, d.what);
    }
    if (debug) {
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r,
                      "%s for %s (status %d, host %s): %s; policy from %s%s",
                      d.what, r->uri ? r->uri : "-", r->status,
                      d.host ? d.host : "-", d.value ? d.value : "no header",
                      d.rule->where.source,
                      d.foreign && d.value != d.foreign
                      ? ", replaced upstream header" : "");
    }
}

#ifdef HSTS_HAVE_RESPONSE_BUCKETS
#if defined(__GNUC__)
#pragma GCC diagnostic push
/* APR_BRIGADE_SENTINEL casts away a qualifier inside APR's ring macros */
#pragma GCC diagnostic ignored "-Wcast-qual"
#endif
/* An interim response (1xx, as a response bucket: 103 Early Hints, or the
 * 101 of a protocol switch that mod_http2 turns into the 200 of an
 * extended CONNECT) passes before the final one: it gets the header a
 * final response would get, in its own headers.  Returns non-zero for
 * such a brigade: the final response is still to come. */
static int hsts_interim(request_rec *r, apr_bucket_brigade *bb)
{
    apr_bucket *b = APR_BRIGADE_FIRST(bb);
    ap_bucket_response *resp;
    hsts_decision d;

    if (b == APR_BRIGADE_SENTINEL(bb) || !AP_BUCKET_IS_RESPONSE(b)) {
        return 0;
    }
    resp = b->data;
    if (!ap_is_HTTP_INFO(resp->status)) {
        return 0;
    }
    hsts_choose(r, resp->headers, NULL, APLOGrdebug(r), &d);
    if (d.rule) {
        apr_table_unset(resp->headers, HSTS_HEADER);
        if (d.value) {
            apr_table_setn(resp->headers, HSTS_HEADER, d.value);
        }
    }
    return 1;
}
#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif
#endif

/* The filter decides once per response: f->ctx is the request whose
 * response got the header, so every further brigade of a large response
 * costs a compare.  httpd replaces the request for an internal redirect
 * (ErrorDocument: f->r changes) and rebuilds the headers when it turns a
 * response into an error (413, 416: hsts_insert_error_filter clears
 * f->ctx). */
static apr_status_t hsts_out_filter(ap_filter_t *f, apr_bucket_brigade *bb)
{
    if (f->ctx != f->r) {
#ifdef HSTS_HAVE_RESPONSE_BUCKETS
        if (hsts_interim(f->r, bb)) {
            return ap_pass_brigade(f->next, bb);
        }
#endif
        hsts_decide(f->r);
        f->ctx = f->r;
    }
    return ap_pass_brigade(f->next, bb);
}

/* Runs only when httpd sends an error response of its own: decide again,
 * with a new note. */
static void hsts_insert_error_filter(request_rec *r)
{
    const char *note = apr_table_get(r->notes, HSTS_NOTE);
    ap_filter_t *f;

    if (note && strcmp(note, "redirect")) {
        apr_table_unset(r->notes, HSTS_NOTE);
    }
    for (f = r->output_filters; f; f = f->next) {
        if (f->frec == hsts_filter_handle) {
            f->ctx = NULL;
            return;
        }
    }
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

/* The request has been read and its vhost chosen.  A TLS-terminating
 * proxy in front is vouched for with HTTPS=on, and only what is set by
 * now counts: the admin's server and vhost-level SetEnvIf and
 * SetEnvIfExpr (mod_setenvif runs them in this phase); everything a
 * tenant's .htaccess can do (SetEnv, SetEnvIf, RewriteRule [E=]) runs
 * later.  The request's config slot keeps HTTPS's value when it is on
 * (only on such plain-HTTP requests: nothing is allocated over TLS). */
static int hsts_post_read_request(request_rec *r)
{
    const char *https;

    if (!hsts_conn_is_tls(r->connection)) {
        https = apr_table_get(r->subprocess_env, "HTTPS");
        if (https && !ap_cstr_casecmp(https, "on")) {
            ap_set_module_config(r->request_config, &hsts_module,
                                 apr_pstrdup(r->pool, https));
        }
    }
    return DECLINED;
}

/* HSTSRedirect: runs once the per-directory configuration is known and
 * before authentication, so credentials are never asked for over HTTP. */
static int hsts_redirect_hook(request_rec *r)
{
    const hsts_dir_conf *conf;
    const hsts_redirect *rd;
    const char *host, *path;
    char *url;
    apr_size_t len;
    int status;

    if (hsts_conn_is_tls(r->connection)) {
        return DECLINED;
    }
    conf = ap_get_module_config(r->per_dir_config, &hsts_module);
    rd = conf ? conf->redirect : NULL;
    if (!rd || !rd->args.on || r->main || r->prev || r->uri[0] != '/'
        || !strncmp(r->uri, "/.well-known/acme-challenge/", 28)
        || hsts_vouched(r)) {
        return DECLINED;
    }
    /* The request's host only if it is a host name that names this vhost
     * (ServerName or ServerAlias), else the ServerName: a forged Host
     * never chooses where the client goes. */
    host = r->hostname;
    if (!host || !hsts_host_is_valid(host)
        || !ap_matches_request_vhost(r, host, r->server->port)) {
        host = r->server->server_hostname;
    }
    /* The path and query exactly as the client sent them, not the decoded
     * r->uri: a decoded "%3F" or "%23" would change what is asked for. */
    path = hsts_url_path(r->unparsed_uri);
    len = path ? HSTS_URL_MAX(path) : 0;
    url = len ? apr_palloc(r->pool, len) : NULL;
    if (!url || !host || !hsts_redirect_url(url, len, host, rd->args.port,
                                            path)) {
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, "no redirect: no valid "
                      "host name (ServerName %s) or no path",
                      r->server->server_hostname
                      ? r->server->server_hostname : "unset");
        return DECLINED;
    }
    status = rd->args.status ? rd->args.status
             : (r->method_number == M_GET ? HTTP_MOVED_PERMANENTLY
                                          : HTTP_PERMANENT_REDIRECT);
    apr_table_setn(r->headers_out, "Location", url);
    apr_table_setn(r->notes, HSTS_NOTE, "redirect");
    if (APLOGrdebug(r)) {
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, "redirect %d to %s; "
                      "HSTSRedirect from %s", status, url, rd->where.source);
    }
    return status;
}

/* -- which request hooks the configuration needs ------------------------ */

/* The request hooks are added only where the configuration can use them:
 * with none, a loaded module costs a request nothing, and without
 * HSTSRedirect a TLS request skips its hook (make bench, bench/RESULTS.md:
 * about 350 and 50 instructions a request).  A policy or redirect said in
 * the main configuration adds them from its directive handler (<Proxy>
 * sections included); one a tenant may say in .htaccess, from
 * hsts_pre_config, which reads AllowOverride.  Both run before httpd
 * sorts the hooks for the last time: it sorts them again after
 * processing the configuration, for hooks added meanwhile. */
static int hsts_needs;

void hsts_need(int what)
{
    int add;

    if (what & HSTS_NEED_LIMITS) {
        /* tenants' headers are held to the limits, policy or not */
        what = (what & ~HSTS_NEED_LIMITS) | (hsts_grants ? HSTS_NEED_POLICY
                                                         : 0);
    }
    add = what & ~hsts_needs;

    if (!add) {
        return;
    }
    if (!hsts_needs) {
        /* REALLY_LAST: after the admin's SetEnvIf and mod_remoteip */
        ap_hook_post_read_request(hsts_post_read_request, NULL, NULL,
                                  APR_HOOK_REALLY_LAST);
    }
    if (add & HSTS_NEED_POLICY) {
        /* LAST: before http_core's REALLY_LAST, which adds the HTTP/1
         * header filters we must sit in front of */
        ap_hook_create_request(hsts_create_request, NULL, NULL,
                               APR_HOOK_LAST);
        ap_hook_insert_error_filter(hsts_insert_error_filter, NULL, NULL,
                                    APR_HOOK_MIDDLE);
    }
    if (add & HSTS_NEED_REDIRECT) {
        ap_hook_post_perdir_config(hsts_redirect_hook, NULL, NULL,
                                   APR_HOOK_MIDDLE);
    }
    hsts_needs |= what;
}

/* What an AllowOverride or AllowOverrideList line lets .htaccess files
 * say of ours; any grant at all counts in hsts_grants.  Not only the
 * grants that name Header: a tenant puts a header on a response with
 * RewriteRule [P] (a backend's header) or [H=], SetHandler and AddHandler
 * (proxy:, cgi-script, send-as-is), Action, Options +ExecCGI (the
 * admin's AddHandler cgi-script then runs the tenant's script), and
 * mod_lua's hooks, which httpd accepts under every AllowOverride class;
 * even RequestHeader or SetEnv can steer the admin's backend or a
 * conditional Header line of the admin's.  An AllowOverrideList may name
 * any of them, or another module's directive.  Counting every grant
 * costs at worst the admin's limits on a header in a directory opened to
 * tenants; missing one lets a tenant past them.  ("Nonfatal=" alone
 * opens nothing.) */
static int hsts_override_needs(apr_pool_t *p, const ap_directive_t *d)
{
    const char *args = d->args;
    int list = !ap_cstr_casecmp(d->directive, "AllowOverrideList");
    int need = 0;

    while (*args) {
        const char *w = ap_getword_conf(p, &args);

        if (!*w) {
            break;
        }
        if (!ap_cstr_casecmp(w, "None")
            || (!list && !ap_cstr_casecmpn(w, "Nonfatal=", 9))) {
            continue;
        }
        hsts_grants = 1;
        if (list) {
            need |= !ap_cstr_casecmp(w, "HSTSPolicy") ? HSTS_NEED_POLICY
                    : !ap_cstr_casecmp(w, "HSTSRedirect")
                      ? HSTS_NEED_REDIRECT : 0;
        }
        else if (!ap_cstr_casecmp(w, "All")
                 || !ap_cstr_casecmp(w, "FileInfo")) {
            need = HSTS_NEED_POLICY | HSTS_NEED_REDIRECT;
        }
    }
    return need;
}

static void hsts_tree_needs(apr_pool_t *p, const ap_directive_t *d)
{
    for (; d; d = d->next) {
        if (d->args && (!ap_cstr_casecmp(d->directive, "AllowOverride")
                        || !ap_cstr_casecmp(d->directive,
                                            "AllowOverrideList"))) {
            hsts_need(hsts_override_needs(p, d));
        }
        if (d->first_child) {
            hsts_tree_needs(p, d->first_child);
        }
    }
}

static int hsts_pre_config(apr_pool_t *pconf, apr_pool_t *plog,
                           apr_pool_t *ptemp)
{
    (void)pconf;
    (void)plog;
    hsts_needs = 0;
    hsts_grants = 0;
    hsts_tree_needs(ptemp, ap_conftree);
    return OK;
}

#ifndef HSTS_HAVE_AP_SSL
static void hsts_retrieve_optional_fn(void)
{
    hsts_ssl_is_https = APR_RETRIEVE_OPTIONAL_FN(ssl_is_https);
    hsts_ssl_var_lookup = APR_RETRIEVE_OPTIONAL_FN(ssl_var_lookup);
}
#endif

/* Which mod_hsts is loaded, once per start (and per restart), in the error
 * log: httpd reads the configuration twice at startup, and the first
 * reading is not the one that serves. */
static int hsts_post_config_version(apr_pool_t *pconf, apr_pool_t *plog,
                                    apr_pool_t *ptemp, server_rec *s)
{
    (void)pconf;
    (void)plog;
    (void)ptemp;
    if (ap_state_query(AP_SQ_MAIN_STATE) != AP_SQ_MS_CREATE_PRE_CONFIG) {
        ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, s, "mod_hsts %s loaded",
                     MOD_HSTS_VERSION);
    }
    return OK;
}

static void hsts_register_hooks(apr_pool_t *p)
{
    hsts_filter_handle = ap_register_output_filter("HSTS", hsts_out_filter,
                                                   NULL, AP_FTYPE_PROTOCOL);
    /* the request hooks: hsts_need */
    ap_hook_pre_config(hsts_pre_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_child_init(hsts_child_init, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_check_config(hsts_check_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_post_config(hsts_post_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_post_config(hsts_post_config_version, NULL, NULL,
                        APR_HOOK_MIDDLE);
    ap_hook_test_config(hsts_test_config, NULL, NULL, APR_HOOK_MIDDLE);
    hsts_status_register_hooks(p);
#ifndef HSTS_HAVE_AP_SSL
    ap_hook_optional_fn_retrieve(hsts_retrieve_optional_fn, NULL, NULL,
                                 APR_HOOK_MIDDLE);
#endif
}
