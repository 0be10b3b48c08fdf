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
 * (test_config).  Nothing here runs per request.
 *
 * Hosting configurations have tens of thousands of virtual hosts, so
 * every pass here is linear in vhosts and names: the TLS state of every
 * server comes from one walk of the config tree, the preload twins from
 * one index of the plain-HTTP vhosts' names, and the startup log names
 * the first few findings of each kind and counts the rest, which
 * DUMP_HSTS lists in full, one line per vhost, written as it is made.
 */

#include "mod_hsts_version.h"
#include "hsts_url.h"
#include "mod_hsts.h"
#include "hsts_check.h"
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

/* -- the plain-HTTP twins of preload vhosts ---------------------------- */

/* Every name of every server that does not speak TLS, lower-cased, with
 * whether some server carrying it says HSTSRedirect on.  Hosting configs
 * write exact names and "*.domain" aliases: those are hashed (the latter
 * by what follows the star, so a name is looked up once per character);
 * any other wildcard is kept in a list, matched as httpd matches it. */
typedef struct {
    int redirect;
} hsts_twin;

typedef struct {
    const char *pattern;
    int redirect;
} hsts_twin_pattern;

struct hsts_twins {
    apr_hash_t *names;
    apr_hash_t *star_suffixes;
    apr_array_header_t *patterns;
};

static const char *hsts_lower(apr_pool_t *p, const char *name)
{
    const char *c;
    char *copy;

    for (c = name; *c && !apr_isupper(*c); c++) {
        continue;
    }
    if (!*c) {
        return name;
    }
    copy = apr_pstrdup(p, name);
    ap_str_tolower(copy);
    return copy;
}

static void hsts_twin_add(apr_pool_t *p, apr_hash_t *h, const char *key,
                          int redirect)
{
    hsts_twin *t = apr_hash_get(h, key, APR_HASH_KEY_STRING);

    if (!t) {
        t = apr_pcalloc(p, sizeof(*t));
        apr_hash_set(h, key, APR_HASH_KEY_STRING, t);
    }
    t->redirect |= redirect;
}

static hsts_twins *hsts_twins_make(apr_pool_t *p, const hsts_tls_map *tls,
                                   server_rec *main)
{
    hsts_twins *tw = apr_palloc(p, sizeof(*tw));
    server_rec *t;
    int i;

    tw->names = apr_hash_make(p);
    tw->star_suffixes = apr_hash_make(p);
    tw->patterns = apr_array_make(p, 4, sizeof(hsts_twin_pattern));
    for (t = main; t; t = t->next) {
        const hsts_dir_conf *dc = ap_get_module_config(t->lookup_defaults,
                                                       &hsts_module);
        int redirect = dc && dc->redirect && dc->redirect->args.on;

        if (hsts_vhost_is_tls(tls, t)) {
            continue;
        }
        if (t->server_hostname) {
            hsts_twin_add(p, tw->names, hsts_lower(p, t->server_hostname),
                          redirect);
        }
        for (i = 0; t->names && i < t->names->nelts; i++) {
            hsts_twin_add(p, tw->names,
                          hsts_lower(p, APR_ARRAY_IDX(t->names, i,
                                                      const char *)),
                          redirect);
        }
        for (i = 0; t->wild_names && i < t->wild_names->nelts; i++) {
            const char *w = hsts_lower(p, APR_ARRAY_IDX(t->wild_names, i,
                                                        const char *));

            if (w[0] == '*' && !strpbrk(w + 1, "*?")) {
                hsts_twin_add(p, tw->star_suffixes, w + 1, redirect);
            }
            else {
                hsts_twin_pattern *tp = apr_array_push(tw->patterns);

                tp->pattern = w;
                tp->redirect = redirect;
            }
        }
    }
    return tw;
}

#define HSTS_TWIN_NONE     0
#define HSTS_TWIN_PLAIN    1
#define HSTS_TWIN_REDIRECT 2

/* Whether a server that does not speak TLS answers for `name`, and
 * whether one of those says HSTSRedirect on. */
static int hsts_twin_of(apr_pool_t *p, const hsts_twins *tw,
                        const char *name)
{
    const char *lname = hsts_lower(p, name), *c;
    const hsts_twin *t = apr_hash_get(tw->names, lname, APR_HASH_KEY_STRING);
    int redirect = t && t->redirect, found = t != NULL, i;

    for (c = lname; !redirect && apr_hash_count(tw->star_suffixes); c++) {
        if ((t = apr_hash_get(tw->star_suffixes, c, APR_HASH_KEY_STRING))) {
            found = 1;
            redirect |= t->redirect;
        }
        if (!*c) {
            break;
        }
    }
    for (i = 0; !redirect && i < tw->patterns->nelts; i++) {
        const hsts_twin_pattern *tp = &APR_ARRAY_IDX(tw->patterns, i,
                                                     hsts_twin_pattern);

        if (!ap_strcasecmp_match(lname, tp->pattern)) {
            found = 1;
            redirect |= tp->redirect;
        }
    }
    return redirect ? HSTS_TWIN_REDIRECT : found ? HSTS_TWIN_PLAIN
                                                 : HSTS_TWIN_NONE;
}

/* -- JSON, written straight to a buffered file ------------------------- */

void hsts_put_json(apr_file_t *out, const char *s)
{
    const char *c, *run;

    if (!s) {
        apr_file_puts("null", out);
        return;
    }
    apr_file_putc('"', out);
    for (run = c = s; *c; c++) {
        unsigned char u = (unsigned char)*c;
        size_t n;

        if (u >= 0x20 && u < 0x7f && u != '"' && u != '\\') {
            continue;
        }
        if (u >= 0x80 && (n = hsts_utf8_len(c)) > 0) {
            c += n - 1;     /* valid UTF-8 goes out as it is */
            continue;
        }
        apr_file_write_full(out, run, (apr_size_t)(c - run), NULL);
        if (u < 0x20 || u >= 0x7f) {
            /* a byte that is no UTF-8 (a Latin-1 file name, say) as the
             * character of that number: the line stays valid JSON */
            apr_file_printf(out, "\\u%04x", u);
        }
        else {
            apr_file_putc('\\', out);
            apr_file_putc(*c, out);
        }
        run = c + 1;
    }
    apr_file_write_full(out, run, (apr_size_t)(c - run), NULL);
    apr_file_putc('"', out);
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
 * DUMP_HSTS, in the log for the first HSTS_LOG_FIRST of its kind. */
int hsts_tell(hsts_check *ck, const char *kind, int level)
{
    int i;

    if (level == HSTS_PROBLEM) {
        ck->problems[hsts_kind_check(kind)]++;
    }
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
    return ++ck->tallies[i].count <= HSTS_LOG_FIRST;
}

/* A finding told in full: a log line (`where` says which vhost or
 * section), or an object of the current DUMP_HSTS line's "findings". */
void hsts_say(hsts_check *ck, const server_rec *s, const char *kind,
              int level, const char *where, const char *text)
{
    if (ck->out) {
        apr_file_printf(ck->out, "%s{\"kind\":\"%s\",\"level\":\"%s\","
                        "\"text\":", ck->written++ ? "," : "", kind,
                        hsts_level_names[level]);
        hsts_put_json(ck->out, text);
        apr_file_putc('}', ck->out);
        return;
    }
    ap_log_error(APLOG_MARK, hsts_log_level(ck, kind, level), 0, s,
                 "%s%s%s%s", hsts_log_prefix(kind, level), where ? where : "",
                 where ? ": " : "", text);
}

/* One line per kind of finding the log did not name in full. */
static void hsts_say_rest(hsts_check *ck)
{
    int i;

    for (i = 0; i < ck->kinds; i++) {
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

static const char *hsts_rule_where(hsts_check *ck, const server_rec *s,
                                   const hsts_rule *rule)
{
    if (ck->out) {
        return NULL;
    }
    return apr_psprintf(ck->p, "%s, HSTSPolicy at %s:%d",
                        hsts_vhost_name(ck->p, s), rule->where.file,
                        rule->where.line);
}

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
    hsts_finding_t findings[HSTS_FINDINGS_MAX];
    const char *kind;
    int twin, n, i;

    hsts_check_redirect(ck, s);
    if (ck->modes[HSTS_CHECK_PRELOAD] == HSTS_PRELOAD_OFF || !rule
        || !rule->header || !rule->policy.preload) {
        return;
    }
    n = hsts_preload_findings(&rule->policy, findings);
    for (i = 0; i < n; i++) {
        int level = findings[i].problem ? HSTS_PROBLEM : HSTS_HINT;

        if (hsts_tell(ck, findings[i].kind, level)) {
            hsts_say(ck, s, findings[i].kind, level,
                     hsts_rule_where(ck, s, rule), findings[i].text);
        }
    }
    if (!s->server_hostname || !hsts_is_tls(ck, s)) {
        return;
    }
    if (!ck->twins) {
        ck->twins = hsts_twins_make(ck->pool, ck->tls, ck->main);
    }
    twin = hsts_twin_of(ck->p, ck->twins, s->server_hostname);
    if (twin == HSTS_TWIN_REDIRECT) {
        return;
    }
    kind = twin ? "preload-twin-no-redirect" : "preload-no-twin";
    if (hsts_tell(ck, kind, HSTS_HINT)) {
        hsts_say(ck, s, kind, HSTS_HINT, hsts_rule_where(ck, s, rule),
                 apr_psprintf(ck->p, "%s: the preload list needs http://%s/ "
                              "to redirect to https://%s/ first (same "
                              "host); add HSTSRedirect on to the plain-HTTP "
                              "vhost (a mod_rewrite redirect is fine too if "
                              "you have one)", twin ? "no HSTSRedirect on in "
                              "its plain-HTTP twin" : "no plain-HTTP vhost "
                              "with this ServerName", s->server_hostname,
                              s->server_hostname));
    }
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

int hsts_check_config(apr_pool_t *pconf, apr_pool_t *plog,
                      apr_pool_t *ptemp, server_rec *s)
{
    const apr_array_header_t *sections;
    hsts_check ck;
    server_rec *v;
    int i;

    (void)pconf;
    (void)plog;
    /* httpd reads the config twice at startup: say it once, on the run
     * that serves (or on the one that is only a test). */
    if (ap_state_query(AP_SQ_MAIN_STATE) == AP_SQ_MS_CREATE_PRE_CONFIG
        && ap_state_query(AP_SQ_RUN_MODE) == AP_SQ_RM_NORMAL) {
        return OK;
    }
    sections = hsts_collect_sections(ptemp, s);
    hsts_check_init(&ck, ptemp, s);
    for (i = 0; i < sections->nelts; i++) {
        hsts_check_section(&ck, &APR_ARRAY_IDX(sections, i, hsts_section));
    }
    for (v = s; v; v = v->next) {
        hsts_check_vhost(&ck, v);
        hsts_lockout_vhost(&ck, v);
    }
    hsts_say_rest(&ck);
    if (hsts_check_refuses(&ck)) {
        /* `apachectl -t -D DUMP_HSTS` lists them all, even now */
        if (ap_state_query(AP_SQ_RUN_MODE) != AP_SQ_RM_NORMAL) {
            hsts_test_config(ptemp, s);
        }
        hsts_check_refusal(&ck);
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    return OK;
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

/* -- apachectl -t -D DUMP_HSTS ----------------------------------------- */

static const char *hsts_json_bool(int b)
{
    return b ? "true" : "false";
}

/* ,"file":...,"line":... of a directive */
static void hsts_put_file_line(apr_file_t *out, const hsts_where *w)
{
    apr_file_puts(",\"file\":", out);
    hsts_put_json(out, w->file);
    apr_file_printf(out, ",\"line\":%d", w->line);
}

static void hsts_put_policy(apr_file_t *out, const hsts_rule *rule)
{
    if (!rule) {
        apr_file_puts("{\"state\":\"unset\",\"header\":null,\"source\":null}",
                      out);
        return;
    }
    if (!rule->header) {
        apr_file_puts("{\"state\":\"off\",\"header\":null", out);
    }
    else {
        apr_file_printf(out, "{\"state\":\"on\",\"max_age\":%lu,"
                        "\"include_subdomains\":%s,\"preload\":%s,"
                        "\"header\":", rule->policy.max_age,
                        hsts_json_bool(rule->policy.include_subdomains),
                        hsts_json_bool(rule->policy.preload));
        hsts_put_json(out, rule->header);
    }
    apr_file_puts(",\"source\":", out);
    hsts_put_json(out, rule->where.source);
    hsts_put_file_line(out, &rule->where);
    apr_file_putc('}', out);
}

static void hsts_put_redirect(apr_file_t *out, const hsts_redirect *rd)
{
    if (!rd) {
        apr_file_puts("{\"on\":false,\"source\":null}", out);
        return;
    }
    apr_file_printf(out, "{\"on\":%s,\"status\":",
                    hsts_json_bool(rd->args.on));
    if (rd->args.status) {
        apr_file_printf(out, "%d", rd->args.status);
    }
    else {
        apr_file_puts("null", out);
    }
    apr_file_printf(out, ",\"port\":%d,\"source\":",
                    rd->args.port ? rd->args.port : 443);
    hsts_put_json(out, rd->where.source);
    apr_file_putc('}', out);
}

static void hsts_put_limits(apr_file_t *out, const hsts_limits *lim)
{
    const hsts_limits_t *l;

    if (!lim) {
        apr_file_puts("null", out);
        return;
    }
    l = &lim->limits;
    apr_file_puts("{\"min_max_age\":", out);
    if (l->min_age) {
        apr_file_printf(out, "%lu", l->min_age);
    }
    else {
        apr_file_puts("null", out);
    }
    apr_file_puts(",\"max_max_age\":", out);
    if (l->max_age < HSTS_MAX_AGE_LIMIT) {
        apr_file_printf(out, "%lu", l->max_age);
    }
    else {
        apr_file_puts("null", out);
    }
    apr_file_printf(out, ",\"include_subdomains\":\"%s\",\"preload\":\"%s\","
                    "\"off\":\"%s\",\"text\":",
                    l->deny_subdomains ? "deny" : "allow",
                    l->deny_preload ? "deny" : "allow",
                    l->deny_off ? "deny" : "allow");
    hsts_put_json(out, lim->text);
    apr_file_puts(",\"source\":", out);
    hsts_put_json(out, lim->where.source);
    apr_file_putc('}', out);
}

static void hsts_put_rollout(apr_file_t *out, const hsts_rollout *ro,
                             const hsts_rule *rule, long long now)
{
    const char *state, *header;
    char day[32];
    long long next = -1;
    int k, at, i;

    if (!ro) {
        apr_file_puts("null", out);
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
    apr_file_puts("{\"start\":", out);
    hsts_put_json(out, hsts_day(day, sizeof(day), ro->ro.start));
    apr_file_printf(out, ",\"step_seconds\":%" APR_INT64_T_FMT ",\"ladder\":[",
                    (apr_int64_t)ro->ro.step);
    for (i = 0; i < ro->ro.rungs; i++) {
        apr_file_printf(out, "%s%lu", i ? "," : "", ro->ro.ladder[i]);
    }
    apr_file_printf(out, "],\"rungs\":%d,\"rung\":%d,\"state\":\"%s\","
                    "\"header_now\":", ro->ro.rungs,
                    k < 0 ? 0 : k >= ro->ro.rungs ? ro->ro.rungs : k + 1,
                    state);
    hsts_put_json(out, header);
    apr_file_puts(",\"next_change\":", out);
    hsts_put_json(out, next < 0 ? NULL : hsts_day(day, sizeof(day), next));
    apr_file_puts(",\"source\":", out);
    hsts_put_json(out, ro->where.source);
    apr_file_putc('}', out);
}

/* The names of a server, ServerAlias names then wildcards, as a JSON
 * array. */
static void hsts_put_names(apr_file_t *out, const server_rec *s)
{
    const apr_array_header_t *lists[2];
    int i, l, n = 0;

    lists[0] = s->names;
    lists[1] = s->wild_names;
    apr_file_putc('[', out);
    for (l = 0; l < 2; l++) {
        for (i = 0; lists[l] && i < lists[l]->nelts; i++) {
            if (n++) {
                apr_file_putc(',', out);
            }
            hsts_put_json(out, APR_ARRAY_IDX(lists[l], i, const char *));
        }
    }
    apr_file_putc(']', out);
}

/* The <VirtualHost> addresses as written: httpd resolves "*" (and any
 * name) to one record per address family or address, each carrying the
 * same text. */
static void hsts_put_addresses(apr_file_t *out, const server_rec *s)
{
    const server_addr_rec *a, *b;

    apr_file_putc('[', out);
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
        apr_file_puts(a == s->addrs ? "{\"host\":" : ",{\"host\":", out);
        hsts_put_json(out, a->virthost);
        apr_file_printf(out, ",\"port\":%u}", (unsigned)a->host_port);
    }
    apr_file_putc(']', out);
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
    hsts_check ck;
    long long now = apr_time_sec(apr_time_now());
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
    hsts_check_init(&ck, p, main);
    ck.p = line;
    ck.out = out;
    for (s = main; s; s = s->next) {
        const hsts_srv_conf *sc = ap_get_module_config(s->module_config,
                                                       &hsts_module);
        const hsts_dir_conf *dc = ap_get_module_config(s->lookup_defaults,
                                                       &hsts_module);
        const hsts_rule *rule = dc ? dc->rule : NULL;

        apr_file_puts("{\"type\":\"vhost\",", out);
        if (s == main) {
            apr_file_puts("\"version\":\"" MOD_HSTS_VERSION "\",", out);
        }
        apr_file_puts("\"server_name\":", out);
        hsts_put_json(out, s->server_hostname);
        apr_file_puts(",\"aliases\":", out);
        hsts_put_names(out, s);
        apr_file_puts(",\"addresses\":", out);
        hsts_put_addresses(out, s);
        apr_file_puts(",\"file\":", out);
        hsts_put_json(out, s->defn_name);
        apr_file_printf(out, ",\"line\":%u,\"main_server\":%s,\"tls\":%s,"
                        "\"policy\":", s->defn_line_number,
                        hsts_json_bool(!s->defn_name),
                        hsts_json_bool(hsts_is_tls(&ck, s)));
        hsts_put_policy(out, rule);
        apr_file_printf(out, ",\"upstream\":\"%s\",\"redirect\":",
                        dc && dc->upstream == HSTS_UPSTREAM_KEEP ? "keep"
                                                                 : "replace");
        hsts_put_redirect(out, dc ? dc->redirect : NULL);
        apr_file_puts(",\"override_limits\":", out);
        hsts_put_limits(out, sc->limits);
        apr_file_puts(",\"rollout\":", out);
        hsts_put_rollout(out, sc->rollout, rule, now);
        apr_file_puts(",\"certificates\":", out);
        hsts_lockout_put_certs(&ck, s);
        apr_file_puts(",\"findings\":[", out);
        ck.written = 0;
        hsts_check_vhost(&ck, s);
        hsts_lockout_vhost(&ck, s);
        if (sc->rollout && (!rule || !rule->header)) {
            hsts_say(&ck, s, "rollout-no-policy", HSTS_WARNING, NULL,
                     "HSTSRollout has no HSTSPolicy to roll out to");
        }
        apr_file_puts("]}\n", out);
        apr_pool_clear(line);
    }
    sections = hsts_collect_sections(p, main);
    for (i = 0; i < sections->nelts; i++) {
        const hsts_section *hs = &APR_ARRAY_IDX(sections, i, hsts_section);
        const hsts_rule *rule = hs->dc->rule;
        const hsts_redirect *rd = hs->dc->redirect;
        const hsts_where *w = rule ? &rule->where : &rd->where;

        apr_file_puts("{\"type\":\"section\",\"section\":", out);
        hsts_put_json(out, hsts_section_label(line, hs));
        hsts_put_file_line(out, w);
        apr_file_puts(",\"vhost\":", out);
        hsts_put_json(out, hs->s->server_hostname);
        apr_file_puts(",\"vhost_file\":", out);
        hsts_put_json(out, hs->s->defn_name);
        apr_file_printf(out, ",\"vhost_line\":%u,\"policy\":",
                        hs->s->defn_line_number);
        hsts_put_policy(out, rule);
        apr_file_puts(",\"redirect\":", out);
        if (rd) {
            hsts_put_redirect(out, rd);
        }
        else {
            apr_file_puts("null", out);
        }
        apr_file_puts(",\"findings\":[", out);
        ck.written = 0;
        hsts_check_section(&ck, hs);
        apr_file_puts("]}\n", out);
        apr_pool_clear(line);
    }
    apr_file_flush(out);
    apr_pool_destroy(p);
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

/* Work out each server's name_exempt, and say where the vhosts' roll-outs
 * stand, once the logs are open: the first few pending, ramping and
 * complete ones in full, the rest counted. */
int hsts_post_config(apr_pool_t *pconf, apr_pool_t *plog,
                     apr_pool_t *ptemp, server_rec *s)
{
    server_rec *v;
    long long now = apr_time_sec(apr_time_now());
    int unfit = 0, state, more[3] = { 0, 0, 0 }, told[3] = { 0, 0, 0 };
    char day[32];

    (void)pconf;
    (void)plog;
    for (v = s; v; v = v->next) {
        hsts_srv_conf *sc = ap_get_module_config(v->module_config,
                                                 &hsts_module);

        if (v->server_hostname) {
            sc->name_exempt = hsts_host_is_exempt(v->server_hostname);
        }
        sc->names_never_exempt = v->is_virtual && v->server_hostname
                                 && hsts_name_never_exempt(v->server_hostname)
                                 && hsts_names_never_exempt(v->names)
                                 && hsts_names_never_exempt(v->wild_names);
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
            if (++unfit <= HSTS_LOG_FIRST) {
                ap_log_error(APLOG_MARK, APLOG_WARNING, 0, v, "HSTSRollout "
                             "(%s) in %s has no HSTSPolicy to roll out to",
                             ro->where.source, hsts_vhost_name(ptemp, v));
            }
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
                         hsts_vhost_name(ptemp, v),
                         hsts_day(day, sizeof(day), ro->ro.start),
                         ro->headers[0]);
        }
        else if (k == ro->ro.rungs) {
            ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, v, "HSTSRollout %s: "
                         "complete, sending %s", hsts_vhost_name(ptemp, v),
                         rule->header);
        }
        else {
            long long until = hsts_rollout_begins(&ro->ro, k + 1);
            int then = hsts_rollout_state(&ro->ro, until,
                                          rule->policy.max_age);

            ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, v, "HSTSRollout %s: "
                         "rung %d of %d: %s until %s, then %s",
                         hsts_vhost_name(ptemp, v), k + 1, ro->ro.rungs,
                         ro->headers[k], hsts_day(day, sizeof(day), until),
                         then == ro->ro.rungs ? rule->header
                                              : ro->headers[then] + 8);
        }
    }
    if (unfit > HSTS_LOG_FIRST) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, "HSTSRollout: %d more "
                     "vhosts with no HSTSPolicy to roll out to not named "
                     "here; `apachectl -t -D DUMP_HSTS` lists every one "
                     "(\"rollout-no-policy\" in its \"findings\")",
                     unfit - HSTS_LOG_FIRST);
    }
    if (more[0] + more[1] + more[2]) {
        ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, s, "HSTSRollout: %d more "
                     "vhosts not named here (%d pending, %d ramping, %d "
                     "complete); `apachectl -t -D DUMP_HSTS` says where "
                     "each stands", more[0] + more[1] + more[2], more[0],
                     more[1], more[2]);
    }
    return OK;
}
