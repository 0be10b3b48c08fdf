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
 * mod_hsts' configuration-time reports: the preload-list and path opt-out
 * checks, and the lockout checks of src/hsts_cert.c, which report
 * through hsts_tell() and hsts_say() here (check_config, so `apachectl
 * -t` shows them), where each
 * roll-out stands (post_config) and `apachectl -t -D DUMP_HSTS`
 * (test_config).  The serving reading keeps its findings, and each
 * server's TLS, for the hsts-status handler (src/hsts_status.c), which
 * writes each vhost with the same function as DUMP_HSTS.  Nothing here
 * runs per request but that function, for hsts-status.
 *
 * Hosting configurations have tens of thousands of virtual hosts, so
 * every pass here is linear in vhosts and names: the TLS state of every
 * server comes from one walk of the config tree, the vhosts that answer
 * a preload domain from one index of names per address
 * (src/hsts_preload.c), and the startup log names
 * the first few findings of each kind and counts the rest, which
 * DUMP_HSTS lists in full, one line per vhost, written as it is made.
 */

#include "mod_hsts_version.h"
#include "hsts_json.h"
#include "hsts_url.h"
#include "hsts_check.h"
#include "hsts_lockout.h"
#include "hsts_preload.h"
#include "ap_listen.h"
#include "apr_lib.h"

APLOG_USE_MODULE(hsts);

/* Findings of one kind the log names before it only counts them. */
#define HSTS_LOG_FIRST 5

const char *hsts_vhost_name(apr_pool_t *p, const server_rec *s)
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

/* -- which servers speak TLS ------------------------------------------- */

/* No TLS module says, at configuration time, which servers it will run
 * on (mod_ssl decides in its post_config, from private records), so the
 * configuration tree is read the way the modules read it: the last
 * SSLEngine or GnuTLSEnable of a server wins and a vhost without one
 * inherits the main server's; mod_ssl also turns TLS on, without
 * SSLEngine, for a server whose protocol is https (`Listen 443`, `Listen
 * ... https`, `Protocol https`) that has a certificate; mod_tls'
 * TLSEngine names the addresses to serve TLS on, and mod_tls matches a
 * vhost to them by port, as done here.  `SSLEngine optional` is not
 * TLS: connections start in plain HTTP (RFC 2817 upgrades, which
 * browsers never ask for; httpd 2.4.64 dropped them). */
#define HSTS_ENGINE_UNSET    0
#define HSTS_ENGINE_OFF      1
#define HSTS_ENGINE_ON       2
#define HSTS_ENGINE_OPTIONAL 3

typedef struct {
    int ssl;                    /* SSLEngine */
    int gnutls;                 /* GnuTLSEnable */
    int certs;                  /* SSLCertificateFile said */
} hsts_tls_said;

/* A <VirtualHost> by where it starts: server_rec's defn_name is the very
 * string the directive's filename points to. */
typedef struct {
    const char *file;
    apr_size_t line;
} hsts_vhost_key;

typedef struct {
    hsts_vhost_key key;
    hsts_tls_said said;
} hsts_tls_vhost;

struct hsts_tls_map {
    apr_pool_t *p;
    apr_hash_t *vhosts;             /* hsts_vhost_key -> hsts_tls_vhost */
    hsts_tls_said main;
    apr_array_header_t *tls_ports;  /* TLSEngine ports, apr_port_t */
};

/* A one-word argument as httpd hands it to the directive (unquoted by
 * ap_getword_conf), compared as the TLS modules compare it. */
static int hsts_engine_arg(apr_pool_t *p, const char *args)
{
    const char *word = ap_getword_conf(p, &args);

    return !ap_cstr_casecmp(word, "on") ? HSTS_ENGINE_ON
           : !ap_cstr_casecmp(word, "optional") ? HSTS_ENGINE_OPTIONAL
           : HSTS_ENGINE_OFF;
}

static void hsts_tls_walk(hsts_tls_map *m, const ap_directive_t *d,
                          hsts_tls_said *said)
{
    for (; d; d = d->next) {
        const char *name = d->directive;

        if (!ap_cstr_casecmp(name, "<VirtualHost")) {
            hsts_tls_vhost *v = apr_pcalloc(m->p, sizeof(*v));

            v->key.file = d->filename;
            v->key.line = (apr_size_t)d->line_num;
            apr_hash_set(m->vhosts, &v->key, sizeof(v->key), v);
            hsts_tls_walk(m, d->first_child, &v->said);
        }
        else if (!ap_cstr_casecmp(name, "SSLEngine")) {
            said->ssl = hsts_engine_arg(m->p, d->args);
        }
        else if (!ap_cstr_casecmp(name, "GnuTLSEnable")) {
            said->gnutls = hsts_engine_arg(m->p, d->args);
        }
        else if (!ap_cstr_casecmp(name, "SSLCertificateFile")) {
            said->certs = 1;
        }
        else if (!ap_cstr_casecmp(name, "TLSEngine")) {
            const char *args = d->args;
            char *host, *scope;
            apr_port_t port;

            if (apr_parse_addr_port(&host, &scope, &port,
                                    ap_getword_conf(m->p, &args),
                                    m->p) == APR_SUCCESS && port) {
                APR_ARRAY_PUSH(m->tls_ports, apr_port_t) = port;
            }
        }
        else if (d->first_child) {
            hsts_tls_walk(m, d->first_child, said);
        }
    }
}

static void hsts_tls_map_make(apr_pool_t *p, hsts_tls_map *m)
{
    m->p = p;
    m->vhosts = apr_hash_make(p);
    memset(&m->main, 0, sizeof(m->main));
    m->tls_ports = apr_array_make(p, 2, sizeof(apr_port_t));
    hsts_tls_walk(m, ap_conftree, &m->main);
}

/* The server's protocol as httpd will settle it when it opens the
 * listeners: `Protocol`, else the protocol of the Listen its address
 * matches. */
static int hsts_protocol_is_https(server_rec *s)
{
    const char *proto = ap_get_server_protocol(s);
    const server_addr_rec *a;
    const ap_listen_rec *lr;

    for (a = s->addrs; !proto && a; a = a->next) {
        for (lr = ap_listeners; a->host_addr && lr; lr = lr->next) {
            if (lr->bind_addr->port == a->host_port
                && apr_sockaddr_equal(lr->bind_addr, a->host_addr)) {
                proto = lr->protocol;
                break;
            }
        }
    }
    return proto && !ap_cstr_casecmp(proto, "https");
}

static int hsts_vhost_is_tls(const hsts_tls_map *m, server_rec *s)
{
    const hsts_tls_vhost *v = NULL;
    const server_addr_rec *a;
    int ssl, gnutls, i;

    if (s->defn_name) {
        hsts_vhost_key key;

        memset(&key, 0, sizeof(key));
        key.file = s->defn_name;
        key.line = s->defn_line_number;
        v = apr_hash_get(m->vhosts, &key, sizeof(key));
    }
    ssl = v && v->said.ssl ? v->said.ssl : m->main.ssl;
    gnutls = v && v->said.gnutls ? v->said.gnutls : m->main.gnutls;
    if (ssl == HSTS_ENGINE_ON || gnutls == HSTS_ENGINE_ON) {
        return 1;
    }
    if (ssl == HSTS_ENGINE_UNSET && (m->main.certs || (v && v->said.certs))
        && hsts_protocol_is_https(s)) {
        return 1;
    }
    if (m->tls_ports->nelts && !s->is_virtual) {
        return 1;           /* mod_tls: the main server takes every port */
    }
    for (a = s->addrs; s->is_virtual && a; a = a->next) {
        for (i = 0; i < m->tls_ports->nelts; i++) {
            if (APR_ARRAY_IDX(m->tls_ports, i, apr_port_t) == a->host_port) {
                return 1;
            }
        }
    }
    return 0;
}

/* -- findings ---------------------------------------------------------- */

static void hsts_check_init(hsts_check *ck, apr_pool_t *pool,
                            server_rec *main)
{
    const hsts_srv_conf *sconf = ap_get_module_config(main->module_config,
                                                      &hsts_module);

    memset(ck, 0, sizeof(*ck));
    ck->pool = ck->p = pool;
    ck->main = main;
    ck->modes[HSTS_CHECK_PRELOAD] = sconf->preload_check == HSTS_UNSET
                                    ? HSTS_PRELOAD_WARN
                                    : sconf->preload_check;
    ck->modes[HSTS_CHECK_LOCKOUT] = sconf->lockout ? sconf->lockout->mode
                                                   : HSTS_PRELOAD_WARN;
    ck->log_this = 1;
}

int hsts_is_tls(hsts_check *ck, server_rec *s)
{
    if (!ck->tls) {
        ck->tls = apr_palloc(ck->pool, sizeof(*ck->tls));
        hsts_tls_map_make(ck->pool, ck->tls);
    }
    return hsts_vhost_is_tls(ck->tls, s);
}

static const char *const hsts_level_names[] = { "problem", "hint",
                                                "warning" };

int hsts_kind_check(const char *kind)
{
    return strncmp(kind, "lockout-", 8) ? HSTS_CHECK_PRELOAD
                                        : HSTS_CHECK_LOCKOUT;
}

static int hsts_log_level(const hsts_check *ck, const char *kind,
                          int level)
{
    return level == HSTS_PROBLEM
           && ck->modes[hsts_kind_check(kind)] == HSTS_PRELOAD_STRICT
           ? APLOG_ERR : APLOG_WARNING;
}

static const char *hsts_log_prefix(const char *kind, int level)
{
    if (hsts_kind_check(kind) == HSTS_CHECK_LOCKOUT) {
        return level == HSTS_HINT ? "HSTSLockoutCheck: hint: "
                                  : "HSTSLockoutCheck: ";
    }
    return level == HSTS_WARNING ? "" : level == HSTS_HINT
           ? "HSTSPreloadCheck: hint: " : "HSTSPreloadCheck: ";
}

/* Counts a finding; non-zero when it is to be told in full: always in
 * DUMP_HSTS and when kept for hsts-status, in the log for the first
 * HSTS_LOG_FIRST of its kind. */
int hsts_tell(hsts_check *ck, const char *kind, int level)
{
    int i;

    if (level == HSTS_PROBLEM) {
        ck->problems[hsts_kind_check(kind)]++;
        /* what the list's checker also fails (domain.tls.*): the
         * certificate of a name this vhost serves, not a subdomain
         * served elsewhere or nowhere */
        ck->cert_problems += hsts_kind_check(kind) == HSTS_CHECK_LOCKOUT
                             && strcmp(kind, "lockout-not-served");
    }
    ck->log_this = 1;
    if (ck->out) {
        return 1;
    }
    for (i = 0; i < ck->kinds && strcmp(ck->tallies[i].kind, kind); i++) {
        continue;
    }
    if (i == ck->kinds) {
        if (i == HSTS_KINDS_MAX) {
            return 1;
        }
        ck->tallies[i].kind = kind;
        ck->tallies[i].level = level;
        ck->tallies[i].count = 0;
        ck->kinds++;
    }
    ck->log_this = ++ck->tallies[i].count <= HSTS_LOG_FIRST;
    return ck->log_this || ck->keep;
}

/* One finding as a JSON object: DUMP_HSTS and hsts-status alike. */
static void hsts_json_finding(hsts_json *j, const char *kind, int level,
                              const char *text)
{
    hsts_json_object(j);
    hsts_json_kstr(j, "kind", kind);
    hsts_json_kstr(j, "level", hsts_level_names[level]);
    hsts_json_kstr(j, "code", hsts_preload_code(kind));
    hsts_json_kstr(j, "text", text);
    hsts_json_end(j);
}

/* The findings of the serving reading, kept per server (in the order
 * told) for as long as its configuration lives: only what the
 * configuration does not hold already. */
struct hsts_found {
    hsts_found *next;
    const char *kind;           /* a literal of the module's */
    const char *text;
    int level;
};

static int hsts_kept_levels[3];

static void hsts_keep(hsts_check *ck, const server_rec *s, const char *kind,
                      int level, const char *text)
{
    hsts_srv_conf *sc = ap_get_module_config(s->module_config,
                                             &hsts_module);
    hsts_found *k = apr_palloc(ck->keep, sizeof(*k));

    k->next = NULL;
    k->kind = kind;
    k->text = apr_pstrdup(ck->keep, text);
    k->level = level;
    if (sc->kept_last) {
        sc->kept_last->next = k;
    }
    else {
        sc->kept = k;
    }
    sc->kept_last = k;
    hsts_kept_levels[level]++;
}

/* A finding told in full: a log line (`where` says which vhost or
 * section), or an object of the current DUMP_HSTS line's "findings";
 * on the serving reading, kept for hsts-status as well.  The log line
 * ends with the preload checker's issue code, which JSON has in a field
 * of its own. */
void hsts_say(hsts_check *ck, const server_rec *s, const char *kind,
              int level, const char *where, const char *text)
{
    if (ck->quiet) {
        return;
    }
    if (ck->out) {
        hsts_json_finding(ck->out, kind, level, text);
        return;
    }
    if (ck->keep) {
        hsts_keep(ck, s, kind, level, text);
    }
    if (ck->log_this) {
        const char *code = hsts_preload_code(kind);

        ap_log_error(APLOG_MARK, hsts_log_level(ck, kind, level), 0, s,
                     "%s%s%s%s%s%s%s", hsts_log_prefix(kind, level),
                     where ? where : "", where ? ": " : "", text,
                     code ? " [hstspreload: " : "", code ? code : "",
                     code ? "]" : "");
    }
}

/* One line per kind of finding the log did not name in full. */
static void hsts_say_rest(hsts_check *ck)
{
    int i;

    for (i = 0; !ck->quiet && i < ck->kinds; i++) {
        const hsts_tally *t = &ck->tallies[i];

        if (t->count > HSTS_LOG_FIRST) {
            ap_log_error(APLOG_MARK, hsts_log_level(ck, t->kind, t->level), 0,
                         ck->main, "%s%d more like the above (%s) not "
                         "named here; `apachectl -t -D DUMP_HSTS` lists "
                         "every one in its vhost's or section's "
                         "\"findings\"", hsts_log_prefix(t->kind, t->level),
                         t->count - HSTS_LOG_FIRST, t->kind);
        }
    }
}

/* -- sections of the main config --------------------------------------- */

/* A <Directory>, <Location>, <Files> or <If> section that configures
 * mod_hsts, with the first server it was found under. */
typedef struct {
    const server_rec *s;
    const core_dir_config *cd;
    const char *kind, *kind_re;
    const hsts_dir_conf *dc;
} hsts_section;

static const char *hsts_section_label(apr_pool_t *p, const hsts_section *hs)
{
    return hs->cd->condition ? "<If>"
           : apr_psprintf(p, "%s %s>", hs->cd->r ? hs->kind_re : hs->kind,
                          hs->cd->d ? hs->cd->d : "");
}

/* httpd puts the main server's sections first in each vhost's lists:
 * those were seen with the main server. */
static int hsts_inherited(const apr_array_header_t *list,
                          const apr_array_header_t *main)
{
    if (!list || !main) {
        return 0;
    }
    if (list == main || (list->nelts >= main->nelts
                         && !memcmp(list->elts, main->elts,
                                    (apr_size_t)main->nelts
                                    * sizeof(void *)))) {
        return main->nelts;
    }
    return 0;
}

/* The sections in `list` but for those `inherited` from the main server,
 * which were seen with it. */
static void hsts_collect_list(apr_hash_t *seen, apr_array_header_t *out,
                              const server_rec *s,
                              const apr_array_header_t *list,
                              const apr_array_header_t *inherited,
                              const char *kind, const char *kind_re)
{
    ap_conf_vector_t **secs;
    int i;

    if (!list) {
        return;
    }
    secs = (ap_conf_vector_t **)list->elts;
    for (i = hsts_inherited(list, inherited); i < list->nelts; i++) {
        const hsts_dir_conf *dc = ap_get_module_config(secs[i],
                                                       &hsts_module);
        core_dir_config *cd = ap_get_core_module_config(secs[i]);

        if (dc && (dc->rule || dc->redirect)
            && !apr_hash_get(seen, &secs[i], sizeof(secs[i]))) {
            hsts_section *hs = apr_array_push(out);

            apr_hash_set(seen, &secs[i], sizeof(secs[i]), out);
            hs->s = s;
            hs->dc = dc;
            hs->cd = cd;
            hs->kind = kind;
            hs->kind_re = kind_re;
        }
        /* <Files> and <If> nested in a <Directory> */
        if (cd->sec_file != list) {
            hsts_collect_list(seen, out, s, cd->sec_file, NULL, "<Files",
                              "<FilesMatch");
        }
        if (cd->sec_if != list) {
            hsts_collect_list(seen, out, s, cd->sec_if, NULL, "<If",
                              "<If");
        }
    }
}

static apr_array_header_t *hsts_collect_sections(apr_pool_t *p,
                                                 server_rec *main)
{
    apr_array_header_t *out = apr_array_make(p, 8, sizeof(hsts_section));
    apr_hash_t *seen = apr_hash_make(p);
    core_server_config *mcore = ap_get_core_module_config(
        main->module_config);
    core_dir_config *mtop = ap_get_core_module_config(main->lookup_defaults);
    server_rec *s;

    for (s = main; s; s = s->next) {
        core_server_config *core = ap_get_core_module_config(
            s->module_config);
        core_dir_config *top = ap_get_core_module_config(s->lookup_defaults);
        int vhost = s != main;

        hsts_collect_list(seen, out, s, core->sec_dir,
                          vhost ? mcore->sec_dir : NULL, "<Directory",
                          "<DirectoryMatch");
        hsts_collect_list(seen, out, s, core->sec_url,
                          vhost ? mcore->sec_url : NULL, "<Location",
                          "<LocationMatch");
        hsts_collect_list(seen, out, s, top->sec_file,
                          vhost ? mtop->sec_file : NULL, "<Files",
                          "<FilesMatch");
        hsts_collect_list(seen, out, s, top->sec_if,
                          vhost ? mtop->sec_if : NULL, "<If", "<If");
    }
    return out;
}

/* A section of the main config: preload there is a domain-wide
 * commitment made from a path; off or a weaker policy does not really opt
 * the path out, since HSTS is host-wide in the browser. */
static void hsts_check_section(hsts_check *ck, const hsts_section *hs)
{
    const hsts_rule *rule = hs->dc->rule;
    const hsts_rule *host = hsts_server_rule(hs->s);

    if (!rule) {
        return;
    }
    if (host && host->header
        && (!rule->header || hsts_policy_weaker(&rule->policy, &host->policy))
        && hsts_tell(ck, "path-opt-out", HSTS_WARNING)) {
        hsts_say(ck, hs->s, "path-opt-out", HSTS_WARNING, NULL,
                 apr_psprintf(ck->p, "HSTSPolicy %s in %s at %s:%d, under "
                              "%s which sends \"%s\": HSTS is host-wide in "
                              "the browser, so this path does not really "
                              "opt out; a browser that got the header "
                              "anywhere on the host keeps using HTTPS here",
                              rule->header ? "weaker" : "off",
                              hsts_section_label(ck->p, hs),
                              rule->where.file, rule->where.line,
                              hsts_vhost_name(ck->p, hs->s), host->header));
    }
    if (ck->modes[HSTS_CHECK_PRELOAD] != HSTS_PRELOAD_OFF && rule->header
        && rule->policy.preload
        && hsts_tell(ck, "preload-in-section", HSTS_PROBLEM)) {
        hsts_say(ck, hs->s, "preload-in-section", HSTS_PROBLEM,
                 ck->out ? NULL : apr_psprintf(ck->p, "%s, %s",
                                               hsts_vhost_name(ck->p, hs->s),
                                               hsts_section_label(ck->p,
                                                                  hs)),
                 apr_psprintf(ck->p, "HSTSPolicy with preload at %s:%d: "
                              "preload commits the whole domain and every "
                              "subdomain, so it belongs in the virtual "
                              "host, not in a section for a path",
                              rule->where.file, rule->where.line));
    }
}

/* -- virtual hosts ----------------------------------------------------- */

/* HSTSRedirect sends a client whose Host does not name the vhost to the
 * ServerName, and redirects nobody if that is no host name a URL can
 * hold (an IDN written in Unicode, say): say so now, not per request. */
static void hsts_check_redirect(hsts_check *ck, server_rec *s)
{
    const hsts_dir_conf *dc = ap_get_module_config(s->lookup_defaults,
                                                   &hsts_module);
    const hsts_redirect *rd = dc ? dc->redirect : NULL;
    const char *kind = "redirect-servername";

    if (!rd || !rd->args.on || !s->server_hostname
        || hsts_host_is_valid(s->server_hostname)
        || !hsts_tell(ck, kind, HSTS_WARNING)) {
        return;
    }
    hsts_say(ck, s, kind, HSTS_WARNING,
             apr_psprintf(ck->p, "%s, HSTSRedirect at %s:%d",
                          hsts_vhost_name(ck->p, s), rd->where.file,
                          rd->where.line),
             apr_psprintf(ck->p, "ServerName %s is not a host name a URL "
                          "can hold (write an internationalized name in "
                          "its ASCII form, xn--...): a request whose Host "
                          "is not one of the vhost's names cannot be "
                          "redirected and is served over plain HTTP",
                          s->server_hostname));
}

static void hsts_check_vhost(hsts_check *ck, server_rec *s)
{
    const hsts_rule *rule = hsts_server_rule(s);

    hsts_check_redirect(ck, s);
    if (ck->modes[HSTS_CHECK_PRELOAD] == HSTS_PRELOAD_OFF || !rule
        || !rule->header || !rule->policy.preload) {
        return;
    }
    hsts_preload_check(ck, s, rule);
}

/* -- when and where the findings are told ------------------------------
 *
 * httpd reads its configuration twice when it starts.  The first reading
 * still has the terminal (and systemd's journal) on stderr; the MPM then
 * detaches in the second reading's pre_config, with stdio on /dev/null,
 * and only after that reading's check_config opens the error log.  On a
 * restart only the second kind of reading happens, in the running parent.
 * So: the first reading tells the terminal, when the server will detach
 * from it, and refuses there, before anything detaches or listens; every
 * serving reading tells the error log, from post_config, once it is open.
 * A process that only signals a running server (-k stop, -k graceful...)
 * reads the configuration too: it must never refuse to stop one, and may
 * refuse to restart one only with a configuration the restart would
 * refuse anyway (its reason on stderr, the server left serving). */

#define HSTS_TELL_NOTHING  0    /* -k stop, -k graceful-stop */
#define HSTS_TELL_REFUSAL  1    /* only a refusal, with every finding */
#define HSTS_TELL_ALL      2

/* The -k argument on httpd's command line: "start" when there is none,
 * NULL when the command line cannot be read.  httpd's MPM takes -k out of
 * process->argv, so it is read from /proc, with the option letters that
 * take a value (httpd's own, and the MPM's -k). */
static const char *hsts_dash_k(apr_pool_t *p)
{
    static const char with_value[] = "CcDdEefpk";
    apr_file_t *f;
    apr_size_t len = 0, cap = 4096, got;
    apr_status_t rv;
    char *buf;
    const char *arg, *end;
    int skip = 1;

    if (apr_file_open(&f, "/proc/self/cmdline", APR_FOPEN_READ,
                      APR_FPROT_OS_DEFAULT, p) != APR_SUCCESS) {
        return NULL;
    }
    buf = apr_palloc(p, cap + 1);
    do {
        if (len == cap) {
            char *more;

            if (cap >= 4 * 1024 * 1024) {   /* past any ARG_MAX */
                apr_file_close(f);
                return NULL;
            }
            more = apr_palloc(p, 2 * cap + 1);
            memcpy(more, buf, len);
            buf = more;
            cap *= 2;
        }
        got = cap - len;
        rv = apr_file_read(f, buf + len, &got);
        len += got;
    } while (rv == APR_SUCCESS);
    apr_file_close(f);
    if (rv != APR_EOF || len == 0) {
        return NULL;            /* not all of it: nothing is known */
    }
    buf[len] = '\0';
    end = buf + len;
    for (arg = buf; arg < end; arg += strlen(arg) + 1) {
        const char *c;

        if (skip) {             /* the program, or an option's value */
            skip = 0;
            continue;
        }
        if (arg[0] != '-' || !arg[1]) {
            continue;
        }
        for (c = arg + 1; *c && !strchr(with_value, *c); c++) {
            continue;
        }
        if (*c == 'k') {
            if (!c[1]) {
                c = arg + strlen(arg);      /* the value is the next one */
            }
            return c + 1 < end ? apr_pstrdup(p, c + 1) : "";
        }
        skip = *c && !c[1];
    }
    return "start";
}

/* What the first reading of the configuration tells, by how httpd was
 * started: -k start (apachectl start, systemd) detaches from the
 * terminal, -DFOREGROUND and -X do not (their error log has it all). */
static int hsts_first_reading_tells(apr_pool_t *p)
{
    const char *k = hsts_dash_k(p);

    if (!k || !strcmp(k, "stop") || !strcmp(k, "graceful-stop")) {
        /* an unreadable command line: the serving reading says it */
        return HSTS_TELL_NOTHING;
    }
    if (strcmp(k, "start")) {
        return HSTS_TELL_REFUSAL;
    }
    /* -X defines DEBUG (and the MPM then runs one process, attached) */
    if (ap_exists_config_define("ONE_PROCESS")
        || ap_exists_config_define("DEBUG")
        || ap_exists_config_define("FOREGROUND")) {
        return HSTS_TELL_REFUSAL;
    }
    return HSTS_TELL_ALL;
}

static void hsts_report_rollouts(hsts_check *ck, long long now);

/* A vhost the list's checker would take, as far as the configuration
 * tells (`clean`: neither its preload check nor its certificates had a
 * problem): -1 where nothing was checked. */
static int hsts_preload_ready(const hsts_check *ck, const hsts_rule *rule,
                              int clean)
{
    return ck->modes[HSTS_CHECK_PRELOAD] == HSTS_PRELOAD_OFF || !rule
           || !rule->header || !rule->policy.preload ? -1 : clean;
}

/* The problems that make a vhost not ready for the preload list. */
static int hsts_ready_problems(const hsts_check *ck)
{
    return ck->problems[HSTS_CHECK_PRELOAD] + ck->cert_problems;
}

/* The certificates the serving reading keeps for hsts-status, and the
 * soonest expiry among them, for server-status. */
static long long hsts_kept_soonest;
static int hsts_kept_any;

static void hsts_keep_certs(hsts_check *ck, server_rec *v)
{
    hsts_srv_conf *sc = ap_get_module_config(v->module_config,
                                             &hsts_module);
    const hsts_cert_info *ci;

    sc->certs = ck->modes[HSTS_CHECK_LOCKOUT] == HSTS_PRELOAD_OFF ? NULL
                : hsts_lockout_certs(ck, v, ck->keep);
    for (ci = sc->certs; ci; ci = ci->next) {
        if (!ci->error && (!hsts_kept_any
                           || ci->not_after < hsts_kept_soonest)) {
            hsts_kept_soonest = ci->not_after;
            hsts_kept_any = 1;
        }
    }
}

static void hsts_report_run(hsts_check *ck, const apr_array_header_t *sect,
                            long long now)
{
    server_rec *v;
    int i;

    for (i = 0; i < sect->nelts; i++) {
        hsts_check_section(ck, &APR_ARRAY_IDX(sect, i, hsts_section));
    }
    for (v = ck->main; v; v = v->next) {
        hsts_srv_conf *sc = ap_get_module_config(v->module_config,
                                                 &hsts_module);
        int problems = hsts_ready_problems(ck);

        hsts_check_vhost(ck, v);
        hsts_lockout_vhost(ck, v);
        if (ck->keep) {
            sc->preload_ready = hsts_preload_ready(
                ck, hsts_server_rule(v), hsts_ready_problems(ck) == problems);
            hsts_keep_certs(ck, v);
        }
    }
    hsts_report_rollouts(ck, now);
    hsts_say_rest(ck);
}

/* Each check refuses on its own problems only: a warn on one never makes
 * the other refuse. */
static int hsts_check_refuses(const hsts_check *ck)
{
    int c;

    for (c = 0; c < HSTS_CHECKS; c++) {
        if (ck->problems[c] && ck->modes[c] == HSTS_PRELOAD_STRICT) {
            return 1;
        }
    }
    return 0;
}

static void hsts_check_refusal(const hsts_check *ck)
{
    static const char *const names[HSTS_CHECKS][2] = {
        { "HSTSPreloadCheck", "preload" },
        { "HSTSLockoutCheck", "lockout" }
    };
    int c;

    for (c = 0; c < HSTS_CHECKS; c++) {
        if (ck->problems[c] && ck->modes[c] == HSTS_PRELOAD_STRICT) {
            ap_log_error(APLOG_MARK, APLOG_CRIT, 0, ck->main, "%s strict: "
                         "%d %s problem(s), refusing to start; `apachectl "
                         "-t -D DUMP_HSTS` lists each in its vhost's or "
                         "section's \"findings\"", names[c][0],
                         ck->problems[c], names[c][1]);
        }
    }
}

/* The checks, told as `tell` says; a non-OK result refuses to start. */
static int hsts_report(apr_pool_t *p, server_rec *s, int tell, int notices,
                       apr_pool_t *keep)
{
    const apr_array_header_t *sections = hsts_collect_sections(p, s);
    long long now = apr_time_sec(apr_time_now());
    hsts_check ck;

    hsts_check_init(&ck, p, s);
    ck.quiet = tell == HSTS_TELL_REFUSAL;
    ck.notices = notices;
    ck.keep = keep;
    if (keep) {
        hsts_kept_any = 0;
    }
    hsts_report_run(&ck, sections, now);
    if (!hsts_check_refuses(&ck)) {
        return OK;
    }
    if (ck.quiet) {
        hsts_check_init(&ck, p, s);
        hsts_report_run(&ck, sections, now);
    }
    /* `apachectl -t -D DUMP_HSTS` lists them all, even now */
    if (ap_state_query(AP_SQ_RUN_MODE) != AP_SQ_RM_NORMAL) {
        hsts_test_config(p, s);
    }
    hsts_check_refusal(&ck);
    return HTTP_INTERNAL_SERVER_ERROR;
}

int hsts_check_config(apr_pool_t *pconf, apr_pool_t *plog,
                      apr_pool_t *ptemp, server_rec *s)
{
    int tell;

    (void)pconf;
    (void)plog;
    if (ap_state_query(AP_SQ_RUN_MODE) != AP_SQ_RM_NORMAL) {
        tell = HSTS_TELL_ALL;   /* apachectl -t and friends */
    }
    else if (ap_state_query(AP_SQ_MAIN_STATE)
             == AP_SQ_MS_CREATE_PRE_CONFIG) {
        tell = hsts_first_reading_tells(ptemp);
    }
    else {
        return OK;              /* hsts_post_config, once the log is open */
    }
    return tell == HSTS_TELL_NOTHING ? OK
                                     : hsts_report(ptemp, s, tell, 0,
                                                   NULL);
}

/* "YYYY-MM-DD", with the time when it is not midnight, in buf */
static const char *hsts_day(char *buf, apr_size_t size, long long t)
{
    apr_time_exp_t tm;
    apr_size_t len;

    apr_time_exp_gmt(&tm, apr_time_from_sec(t));
    apr_strftime(buf, &len, size, t % 86400 ? "%Y-%m-%d %H:%M:%S UTC"
                                            : "%Y-%m-%d", &tm);
    return buf;
}

/* -- the JSON documents: DUMP_HSTS and hsts-status --------------------
 *
 * One writer (include/hsts_json.h) and one schema, documented in the
 * README: a field is added in one place below, for both, and bumps
 * HSTS_JSON_SCHEMA. */

/* "file":...,"line":... of a directive */
static void hsts_put_file_line(hsts_json *j, const hsts_where *w)
{
    hsts_json_kstr(j, "file", w->file);
    hsts_json_kint(j, "line", w->line);
}

static void hsts_put_policy(hsts_json *j, const hsts_rule *rule)
{
    hsts_json_object(j);
    if (!rule) {
        hsts_json_kstr(j, "state", "unset");
        hsts_json_kstr(j, "header", NULL);
        hsts_json_kstr(j, "source", NULL);
        hsts_json_end(j);
        return;
    }
    if (!rule->header) {
        hsts_json_kstr(j, "state", "off");
    }
    else {
        hsts_json_kstr(j, "state", "on");
        hsts_json_kint(j, "max_age", (long long)rule->policy.max_age);
        hsts_json_kbool(j, "include_subdomains",
                        rule->policy.include_subdomains);
        hsts_json_kbool(j, "preload", rule->policy.preload);
    }
    hsts_json_kstr(j, "header", rule->header);
    hsts_json_kstr(j, "source", rule->where.source);
    hsts_put_file_line(j, &rule->where);
    hsts_json_end(j);
}

static void hsts_put_redirect(hsts_json *j, const hsts_redirect *rd)
{
    hsts_json_object(j);
    if (!rd) {
        hsts_json_kbool(j, "on", 0);
        hsts_json_kstr(j, "source", NULL);
        hsts_json_end(j);
        return;
    }
    hsts_json_kbool(j, "on", rd->args.on);
    hsts_json_key(j, "status");
    if (rd->args.status) {
        hsts_json_int(j, rd->args.status);
    }
    else {
        hsts_json_null(j);
    }
    hsts_json_kint(j, "port", rd->args.port ? rd->args.port : 443);
    hsts_json_kstr(j, "source", rd->where.source);
    hsts_json_end(j);
}

static void hsts_put_limits(hsts_json *j, const hsts_limits *lim)
{
    const hsts_limits_t *l;

    if (!lim) {
        hsts_json_null(j);
        return;
    }
    l = &lim->limits;
    hsts_json_object(j);
    hsts_json_key(j, "min_max_age");
    if (l->min_age) {
        hsts_json_int(j, (long long)l->min_age);
    }
    else {
        hsts_json_null(j);
    }
    hsts_json_key(j, "max_max_age");
    if (l->max_age < HSTS_MAX_AGE_LIMIT) {
        hsts_json_int(j, (long long)l->max_age);
    }
    else {
        hsts_json_null(j);
    }
    hsts_json_kstr(j, "include_subdomains",
                   l->deny_subdomains ? "deny" : "allow");
    hsts_json_kstr(j, "preload", l->deny_preload ? "deny" : "allow");
    hsts_json_kstr(j, "off", l->deny_off ? "deny" : "allow");
    hsts_json_kstr(j, "text", lim->text);
    hsts_json_kstr(j, "source", lim->where.source);
    hsts_json_end(j);
}

/* The header a vhost's HTTPS responses carry at `now` where no section
 * or .htaccess says otherwise: its policy as the roll-out lets it out
 * (what the request path does). */
static const char *hsts_header_now(const hsts_rollout *ro,
                                   const hsts_rule *rule, long long now)
{
    int k;

    if (!rule || !rule->header || !ro) {
        return rule ? rule->header : NULL;
    }
    k = hsts_rollout_state(&ro->ro, now, rule->policy.max_age);
    return k < 0 ? NULL : k == ro->ro.rungs ? rule->header : ro->headers[k];
}

static void hsts_put_rollout(hsts_json *j, const hsts_rollout *ro,
                             const hsts_rule *rule, long long now)
{
    const char *state, *header;
    char day[32];
    long long next = -1;
    int k, at, i;

    if (!ro) {
        hsts_json_null(j);
        return;
    }
    k = hsts_rollout_rung(&ro->ro, now);
    at = rule && rule->header ? hsts_rollout_state(&ro->ro, now,
                                                   rule->policy.max_age)
                              : ro->ro.rungs;
    if (at < 0) {
        state = "pending";
        header = NULL;
        next = ro->ro.start;
    }
    else if (at == ro->ro.rungs) {
        state = "complete";
        header = rule ? rule->header : NULL;
    }
    else {
        state = "ramping";
        header = ro->headers[at];
        next = hsts_rollout_begins(&ro->ro, at + 1);
    }
    hsts_json_object(j);
    hsts_json_kstr(j, "start", hsts_day(day, sizeof(day), ro->ro.start));
    hsts_json_kint(j, "step_seconds", ro->ro.step);
    hsts_json_key(j, "ladder");
    hsts_json_array(j);
    for (i = 0; i < ro->ro.rungs; i++) {
        hsts_json_int(j, (long long)ro->ro.ladder[i]);
    }
    hsts_json_end(j);
    hsts_json_kint(j, "rungs", ro->ro.rungs);
    hsts_json_kint(j, "rung", k < 0 ? 0 : k >= ro->ro.rungs ? ro->ro.rungs
                                                            : k + 1);
    hsts_json_kstr(j, "state", state);
    hsts_json_kstr(j, "header_now", header);
    hsts_json_kstr(j, "next_change",
                   next < 0 ? NULL : hsts_day(day, sizeof(day), next));
    hsts_json_key(j, "next_change_epoch");
    if (next < 0) {
        hsts_json_null(j);
    }
    else {
        hsts_json_int(j, next);
    }
    hsts_json_kstr(j, "source", ro->where.source);
    hsts_json_end(j);
}

/* The names of a server, ServerAlias names then wildcards. */
static void hsts_put_names(hsts_json *j, const server_rec *s)
{
    const apr_array_header_t *lists[2];
    int i, l;

    lists[0] = s->names;
    lists[1] = s->wild_names;
    hsts_json_array(j);
    for (l = 0; l < 2; l++) {
        for (i = 0; lists[l] && i < lists[l]->nelts; i++) {
            hsts_json_str(j, APR_ARRAY_IDX(lists[l], i, const char *));
        }
    }
    hsts_json_end(j);
}

/* The <VirtualHost> addresses as written: httpd resolves "*" (and any
 * name) to one record per address family or address, each carrying the
 * same text. */
static void hsts_put_addresses(hsts_json *j, const server_rec *s)
{
    const server_addr_rec *a, *b;

    hsts_json_array(j);
    for (a = s->addrs; a; a = a->next) {
        for (b = s->addrs; b != a; b = b->next) {
            if (b->host_port == a->host_port
                && !strcmp(b->virthost ? b->virthost : "",
                           a->virthost ? a->virthost : "")) {
                break;
            }
        }
        if (b != a) {
            continue;
        }
        hsts_json_object(j);
        hsts_json_kstr(j, "host", a->virthost);
        hsts_json_kint(j, "port", a->host_port);
        hsts_json_end(j);
    }
    hsts_json_end(j);
}

/* How one server's object is written: by DUMP_HSTS, from a live check,
 * or by hsts-status, from what the serving reading kept. */
typedef struct {
    long long now;
    apr_pool_t *p;              /* scratch, cleared after each server */
    hsts_check *ck;             /* DUMP_HSTS: check now, say TLS now */
} hsts_view;

/* Each certificate the vhost presents (src/hsts_cert.c): read now for
 * DUMP_HSTS, kept by the serving reading for hsts-status; the days left
 * are counted from the document's own time. */
static void hsts_put_certificates(hsts_json *j, const hsts_view *v,
                                  server_rec *s)
{
    const hsts_srv_conf *sc = ap_get_module_config(s->module_config,
                                                   &hsts_module);
    const hsts_cert_info *ci = v->ck ? hsts_lockout_certs(v->ck, s, v->p)
                                     : sc->certs;
    char day[16];
    int i;

    hsts_json_array(j);
    for (; ci; ci = ci->next) {
        hsts_json_object(j);
        hsts_json_kstr(j, "file", ci->file);
        hsts_json_kstr(j, "directive", ci->directive);
        hsts_json_kstr(j, "chain_file", ci->chain_file);
        if (ci->error) {
            hsts_json_kstr(j, "error", ci->error);
            hsts_json_kbool(j, "verified", 0);
            hsts_json_end(j);
            continue;
        }
        hsts_json_key(j, "names");
        hsts_json_array(j);
        for (i = 0; i < ci->names->nelts; i++) {
            hsts_json_str(j, APR_ARRAY_IDX(ci->names, i, const char *));
        }
        hsts_json_end(j);
        hsts_ymd(ci->not_before, day);
        hsts_json_kstr(j, "not_before", day);
        hsts_ymd(ci->not_after, day);
        hsts_json_kstr(j, "not_after", day);
        hsts_json_kint(j, "days_left", hsts_days_left(ci->not_after,
                                                      v->now));
        hsts_json_kstr(j, "issuer", ci->issuer);
        hsts_json_kstr(j, "key", ci->key);
        hsts_json_kbool(j, "verified", ci->verified);
        hsts_json_kstr(j, "verify_error", ci->verify_error);
        hsts_json_end(j);
    }
    hsts_json_end(j);
}

/* One server's object, the same in DUMP_HSTS and hsts-status: every
 * field is one call here. */
static void hsts_put_vhost(hsts_json *j, const hsts_view *v, server_rec *s)
{
    const hsts_srv_conf *sc = ap_get_module_config(s->module_config,
                                                   &hsts_module);
    const hsts_dir_conf *dc = ap_get_module_config(s->lookup_defaults,
                                                   &hsts_module);
    const hsts_rule *rule = dc ? dc->rule : NULL;
    const hsts_found *k;
    int problems, ready;

    hsts_json_object(j);
    hsts_json_kstr(j, "type", "vhost");
    if (!s->defn_name && v->ck) {
        hsts_json_kstr(j, "version", MOD_HSTS_VERSION);
        hsts_json_kint(j, "schema", HSTS_JSON_SCHEMA);
    }
    hsts_json_kstr(j, "server_name", s->server_hostname);
    hsts_json_key(j, "aliases");
    hsts_put_names(j, s);
    hsts_json_key(j, "addresses");
    hsts_put_addresses(j, s);
    hsts_json_kstr(j, "file", s->defn_name);
    hsts_json_kint(j, "line", s->defn_line_number);
    hsts_json_kbool(j, "main_server", !s->defn_name);
    hsts_json_kbool(j, "tls", v->ck ? hsts_is_tls(v->ck, s) : sc->tls);
    hsts_json_key(j, "policy");
    hsts_put_policy(j, rule);
    hsts_json_kstr(j, "header_now", hsts_header_now(sc->rollout, rule,
                                                    v->now));
    hsts_json_kstr(j, "upstream", dc && dc->upstream == HSTS_UPSTREAM_KEEP
                                  ? "keep" : "replace");
    hsts_json_key(j, "redirect");
    hsts_put_redirect(j, dc ? dc->redirect : NULL);
    hsts_json_key(j, "override_limits");
    hsts_put_limits(j, sc->limits);
    hsts_json_key(j, "rollout");
    hsts_put_rollout(j, sc->rollout, rule, v->now);
    hsts_json_key(j, "certificates");
    hsts_put_certificates(j, v, s);
    hsts_json_key(j, "findings");
    hsts_json_array(j);
    if (v->ck) {
        problems = hsts_ready_problems(v->ck);
        hsts_check_vhost(v->ck, s);
        hsts_lockout_vhost(v->ck, s);
        if (sc->rollout && (!rule || !rule->header)) {
            hsts_say(v->ck, s, "rollout-no-policy", HSTS_WARNING, NULL,
                     "HSTSRollout has no HSTSPolicy to roll out to");
        }
        ready = hsts_preload_ready(v->ck, rule,
                                   hsts_ready_problems(v->ck) == problems);
    }
    else {
        for (k = sc->kept; k; k = k->next) {
            hsts_json_finding(j, k->kind, k->level, k->text);
        }
        ready = sc->preload_ready;
    }
    hsts_json_end(j);
    hsts_json_key(j, "preload_ready");
    if (ready < 0) {
        hsts_json_null(j);
    }
    else {
        hsts_json_bool(j, ready);
    }
    hsts_json_end(j);
}

static void hsts_put_section(hsts_json *j, hsts_check *ck,
                             const hsts_section *hs)
{
    const hsts_rule *rule = hs->dc->rule;
    const hsts_redirect *rd = hs->dc->redirect;

    hsts_json_object(j);
    hsts_json_kstr(j, "type", "section");
    hsts_json_kstr(j, "section", hsts_section_label(ck->p, hs));
    hsts_put_file_line(j, rule ? &rule->where : &rd->where);
    hsts_json_kstr(j, "vhost", hs->s->server_hostname);
    hsts_json_kstr(j, "vhost_file", hs->s->defn_name);
    hsts_json_kint(j, "vhost_line", hs->s->defn_line_number);
    hsts_json_key(j, "policy");
    hsts_put_policy(j, rule);
    hsts_json_key(j, "redirect");
    if (rd) {
        hsts_put_redirect(j, rd);
    }
    else {
        hsts_json_null(j);
    }
    hsts_json_key(j, "findings");
    hsts_json_array(j);
    hsts_check_section(ck, hs);
    hsts_json_end(j);
    hsts_json_end(j);
}

static int hsts_file_sink(void *baton, const char *buf, size_t len)
{
    return apr_file_write_full(baton, buf, len, NULL) != APR_SUCCESS;
}

/* One JSON object per line: each virtual host, then each section of the
 * main config that configures mod_hsts.  A stable interface for control
 * panels; the README documents the schema.  Each line is written as it is
 * made, through a buffered file, and what it needed is freed with it. */
void hsts_test_config(apr_pool_t *pconf, server_rec *main)
{
    apr_pool_t *p, *line;
    apr_array_header_t *sections;
    apr_file_t *out;
    hsts_json j;
    hsts_check ck;
    hsts_view v;
    server_rec *s;
    int i;

    if (!ap_exists_config_define("DUMP_HSTS")) {
        return;
    }
    apr_pool_create(&p, pconf);
    apr_pool_create(&line, p);
    if (apr_file_open_flags_stdout(&out, APR_FOPEN_BUFFERED, p)
        != APR_SUCCESS) {
        apr_pool_destroy(p);
        return;
    }
    hsts_json_init(&j, hsts_file_sink, out);
    hsts_check_init(&ck, p, main);
    ck.p = line;
    ck.out = &j;
    v.now = apr_time_sec(apr_time_now());
    v.p = line;
    v.ck = &ck;
    for (s = main; s; s = s->next) {
        hsts_put_vhost(&j, &v, s);
        hsts_json_newline(&j);
        apr_pool_clear(line);
    }
    sections = hsts_collect_sections(p, main);
    for (i = 0; i < sections->nelts; i++) {
        hsts_put_section(&j, &ck, &APR_ARRAY_IDX(sections, i, hsts_section));
        hsts_json_newline(&j);
        apr_pool_clear(line);
    }
    apr_file_flush(out);
    apr_pool_destroy(p);
}

/* -- for hsts-status (src/hsts_status.c) ------------------------------- */

static int hsts_status_servers, hsts_status_policies;
static apr_time_t hsts_status_read;

/* `p` is cleared by the caller after each server. */
void hsts_status_vhost(hsts_json *j, apr_pool_t *p, server_rec *s,
                       apr_time_t now)
{
    hsts_view v;

    v.now = apr_time_sec(now);
    v.p = p;
    v.ck = NULL;
    hsts_put_vhost(j, &v, s);
}

void hsts_status_summary(hsts_status_totals *t)
{
    memcpy(t->findings, hsts_kept_levels, sizeof(t->findings));
    t->servers = hsts_status_servers;
    t->policies = hsts_status_policies;
    t->read = hsts_status_read;
}

/* The soonest expiry among the certificates the serving reading kept,
 * for server-status. */
int hsts_status_cert_soonest(apr_time_t now, long long *days)
{
    *days = hsts_days_left(hsts_kept_soonest, apr_time_sec(now));
    return hsts_kept_any;
}

static int hsts_names_never_exempt(const apr_array_header_t *names)
{
    int i;

    for (i = 0; names && i < names->nelts; i++) {
        if (!hsts_name_never_exempt(APR_ARRAY_IDX(names, i, const char *))) {
            return 0;
        }
    }
    return 1;
}

/* Where each roll-out stands: the first few pending, ramping and complete
 * ones named (notices, in the error log only), the rest counted; one
 * without a policy to roll out to is a finding. */
static void hsts_report_rollouts(hsts_check *ck, long long now)
{
    int state, more[3] = { 0, 0, 0 }, told[3] = { 0, 0, 0 };
    apr_pool_t *p = ck->p;
    server_rec *v;
    char day[32];

    for (v = ck->main; v; v = v->next) {
        const hsts_srv_conf *sc = ap_get_module_config(v->module_config,
                                                       &hsts_module);
        const hsts_rollout *ro = sc->rollout;
        const hsts_rule *rule = hsts_server_rule(v);
        int k;

        if (!ro) {
            continue;
        }
        if (!rule || !rule->header) {
            if (hsts_tell(ck, "rollout-no-policy", HSTS_WARNING)) {
                hsts_say(ck, v, "rollout-no-policy", HSTS_WARNING,
                         apr_psprintf(p, "%s, HSTSRollout at %s:%d",
                                      hsts_vhost_name(p, v), ro->where.file,
                                      ro->where.line),
                         "HSTSRollout has no HSTSPolicy to roll out to");
            }
            continue;
        }
        if (!ck->notices || ck->quiet) {
            continue;
        }
        k = hsts_rollout_state(&ro->ro, now, rule->policy.max_age);
        state = k < 0 ? 0 : k == ro->ro.rungs ? 2 : 1;
        if (++told[state] > HSTS_LOG_FIRST) {
            more[state]++;
            continue;
        }
        if (k < 0) {
            ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, v, "HSTSRollout %s: "
                         "starts %s with %s; no header until then",
                         hsts_vhost_name(p, v),
                         hsts_day(day, sizeof(day), ro->ro.start),
                         ro->headers[0]);
        }
        else if (k == ro->ro.rungs) {
            ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, v, "HSTSRollout %s: "
                         "complete, sending %s", hsts_vhost_name(p, v),
                         rule->header);
        }
        else {
            long long until = hsts_rollout_begins(&ro->ro, k + 1);
            int then = hsts_rollout_state(&ro->ro, until,
                                          rule->policy.max_age);

            ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, v, "HSTSRollout %s: "
                         "rung %d of %d: %s until %s, then %s",
                         hsts_vhost_name(p, v), k + 1, ro->ro.rungs,
                         ro->headers[k], hsts_day(day, sizeof(day), until),
                         then == ro->ro.rungs ? rule->header
                                              : ro->headers[then] + 8);
        }
    }
    if (more[0] + more[1] + more[2]) {
        ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, ck->main, "HSTSRollout: "
                     "%d more vhosts not named here (%d pending, %d "
                     "ramping, %d complete); `apachectl -t -D DUMP_HSTS` "
                     "says where each stands", more[0] + more[1] + more[2],
                     more[0], more[1], more[2]);
    }
}

/* Work out each server's name_exempt; on every reading that serves, tell
 * the error log (open by now) what the checks found, and keep it, with
 * each server's TLS, for hsts-status. */
int hsts_post_config(apr_pool_t *pconf, apr_pool_t *plog,
                     apr_pool_t *ptemp, server_rec *s)
{
    int serving = ap_state_query(AP_SQ_MAIN_STATE)
                  != AP_SQ_MS_CREATE_PRE_CONFIG;
    hsts_check ck;
    server_rec *v;

    (void)plog;
    hsts_check_init(&ck, ptemp, s);
    memset(hsts_kept_levels, 0, sizeof(hsts_kept_levels));
    hsts_status_servers = hsts_status_policies = 0;
    hsts_status_read = apr_time_now();
    for (v = s; v; v = v->next) {
        hsts_srv_conf *sc = ap_get_module_config(v->module_config,
                                                 &hsts_module);
        const hsts_rule *rule = hsts_server_rule(v);

        sc->kept = sc->kept_last = NULL;
        sc->preload_ready = -1;
        sc->tls = serving && hsts_is_tls(&ck, v);
        hsts_status_servers++;
        hsts_status_policies += rule && rule->header != NULL;

        if (v->server_hostname) {
            sc->name_exempt = hsts_host_is_exempt(v->server_hostname);
        }
        sc->names_never_exempt = v->is_virtual && v->server_hostname
                                 && hsts_name_never_exempt(v->server_hostname)
                                 && hsts_names_never_exempt(v->names)
                                 && hsts_names_never_exempt(v->wild_names);
    }
    if (!serving) {
        return OK;
    }
    return hsts_report(ptemp, s, HSTS_TELL_ALL, 1, pconf);
}
