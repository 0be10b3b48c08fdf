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
 * The preload list's rules, as Chromium's hstspreload checker applies
 * them to a domain D, worked out from the configuration: the header of
 * https://D/, the redirects of http://D/ (the checker fetches it on port
 * 80, wants its first redirect to go to https://D/, that page to send a
 * preloadable header, and at most 3 redirects), and www.D over TLS.
 *
 * What http://D/ gets is found as httpd finds it: the vhost its own
 * lookup picks for each address the server listens on at port 80 (a
 * connection record handed to ap_update_vhost_given_ip, then D matched
 * against the names on that address as httpd matches a Host), then the
 * sources of a redirect in the order httpd runs them: mod_rewrite's
 * server rules (translate_name, FIRST), mod_alias' Redirect (translate,
 * MIDDLE), HSTSRedirect (post_perdir_config), and what sections and
 * .htaccess files may add at fixups.  What the configuration decides is
 * a problem when it breaks a rule; what it cannot decide (conditions,
 * .htaccess, other modules) is a hint that names it.
 *
 * Hosting configurations have tens of thousands of vhosts: the names on
 * each address are indexed once (exact names and "*.domain" aliases
 * hashed, other wildcards listed), so each vhost costs a few lookups.
 */

#include "hsts_preload.h"
#include "hsts_url.h"
#include "ap_listen.h"
#include "ap_regex.h"
#include "http_vhost.h"
#include "apr_fnmatch.h"
#include "apr_lib.h"
#include "apr_uri.h"

APLOG_USE_MODULE(hsts);

/* The checker follows at most this many redirects from http://D/. */
#define HSTS_MAX_REDIRECTS 3

/* -- the list's codes --------------------------------------------------- */

static const struct {
    const char *kind;
    const char *code;
} hsts_codes[] = {
    { "preload-include-subdomains",
      "header.preloadable.include_sub_domains.missing" },
    { "preload-max-age-zero", "header.preloadable.max_age.zero" },
    { "preload-max-age-short", "header.preloadable.max_age.below_1_year" },
    { "preload-max-age-long", "header.preloadable.max_age.over_10_years" },
    { "preload-no-redirect", "redirects.http.no_redirect" },
    { "preload-redirect-unverified", "redirects.http.no_redirect" },
    { "preload-no-port-80", "redirects.http.does_not_exist" },
    { "preload-redirect-www-first", "redirects.http.www_first" },
    { "preload-redirect-elsewhere", "redirects.http.first_redirect.insecure" },
    { "preload-redirect-no-hsts", "redirects.http.first_redirect.no_hsts" },
    { "preload-redirect-unreachable",
      "redirects.http.first_redirect.invalid" },
    { "preload-redirect-insecure", "redirects.insecure.subsequent" },
    { "preload-too-many-redirects", "redirects.too_many" },
    { "preload-www-no-tls", "domain.www.no_tls" },
    { "preload-www-unverified", "domain.www.no_tls" },
    /* HSTSLockoutCheck's: what the checker says of such a certificate */
    { "lockout-chain", "domain.tls.invalid_cert_chain" },
    { "lockout-expired", "domain.tls.invalid_cert_chain" },
    { "lockout-not-yet-valid", "domain.tls.invalid_cert_chain" },
    { "lockout-name-not-covered", "domain.tls.invalid_cert_chain" },
    { "lockout-weak-signature", "domain.tls.sha1" },
    { NULL, NULL }
};

const char *hsts_preload_code(const char *kind)
{
    int i;

    for (i = 0; hsts_codes[i].kind; i++) {
        if (!strcmp(hsts_codes[i].kind, kind)) {
            return hsts_codes[i].code;
        }
    }
    return NULL;
}

/* -- who answers a name on a port ----------------------------------------- */

/* The servers httpd chooses among for a Host on one address: its name
 * chain, in order, indexed by name (the first server wins, as in
 * httpd's walk of the chain), and the one that answers when no name
 * matches. */
typedef struct {
    server_rec *s;
    int order;
} hsts_named;

typedef struct {
    const char *pattern;
    hsts_named n;
} hsts_pattern;

typedef struct {
    server_rec *dflt;               /* answers a Host no name matches */
    int count;
    apr_hash_t *names;              /* lower-case name -> hsts_named */
    apr_hash_t *star_suffixes;      /* ".d.example" of "*.d.example" */
    apr_array_header_t *patterns;   /* hsts_pattern */
} hsts_chain;

typedef struct {
    apr_port_t port;
    int listens;                    /* some Listen has this port */
    apr_array_header_t *chains;     /* hsts_chain *, one per address */
} hsts_port;

/* The configuration tree of a <VirtualHost>, by where it starts. */
typedef struct {
    const char *file;
    apr_size_t line;
} hsts_tree_key;

struct hsts_preload_index {
    apr_pool_t *p;
    apr_hash_t *ports;              /* apr_port_t -> hsts_port */
    hsts_chain *plain;              /* every server without TLS */
    hsts_chain *tls;                /* every server with TLS */
    apr_hash_t *trees;              /* hsts_tree_key -> ap_directive_t */
    apr_pool_t *scratch;            /* one vhost's check, cleared after */
    /* the main server's directives, read once: every vhost asks */
    apr_array_header_t *main_rewrite, *main_alias, *main_late;
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

static hsts_chain *hsts_chain_make(apr_pool_t *p)
{
    hsts_chain *ch = apr_pcalloc(p, sizeof(*ch));

    ch->names = apr_hash_make(p);
    ch->star_suffixes = apr_hash_make(p);
    ch->patterns = apr_array_make(p, 2, sizeof(hsts_pattern));
    return ch;
}

static void hsts_name_add(apr_pool_t *p, apr_hash_t *h, const char *key,
                          server_rec *s, int order)
{
    hsts_named *n = apr_hash_get(h, key, APR_HASH_KEY_STRING);

    if (!n) {
        n = apr_palloc(p, sizeof(*n));
        n->s = s;
        n->order = order;
        apr_hash_set(h, key, APR_HASH_KEY_STRING, n);
    }
}

static void hsts_chain_add(apr_pool_t *p, hsts_chain *ch, server_rec *s)
{
    int order = ch->count++, i;

    if (s->server_hostname) {
        hsts_name_add(p, ch->names, hsts_lower(p, s->server_hostname), s,
                      order);
    }
    for (i = 0; s->names && i < s->names->nelts; i++) {
        hsts_name_add(p, ch->names,
                      hsts_lower(p, APR_ARRAY_IDX(s->names, i, const char *)),
                      s, order);
    }
    for (i = 0; s->wild_names && i < s->wild_names->nelts; i++) {
        const char *w = hsts_lower(p, APR_ARRAY_IDX(s->wild_names, i,
                                                    const char *));

        if (w[0] == '*' && !strpbrk(w + 1, "*?")) {
            hsts_name_add(p, ch->star_suffixes, w + 1, s, order);
        }
        else {
            hsts_pattern *tp = apr_array_push(ch->patterns);

            tp->pattern = w;
            tp->n.s = s;
            tp->n.order = order;
        }
    }
}

/* The first server of the chain that names `host` (ServerName, then
 * ServerAlias with wildcards, as httpd's matches_aliases), or NULL. */
static server_rec *hsts_chain_named(apr_pool_t *p, const hsts_chain *ch,
                                    const char *host)
{
    const char *lname = hsts_lower(p, host), *c;
    const hsts_named *best = apr_hash_get(ch->names, lname,
                                          APR_HASH_KEY_STRING), *n;
    int i;

    for (c = lname; *c && apr_hash_count(ch->star_suffixes); c++) {
        n = apr_hash_get(ch->star_suffixes, c, APR_HASH_KEY_STRING);
        if (n && (!best || n->order < best->order)) {
            best = n;
        }
    }
    for (i = 0; i < ch->patterns->nelts; i++) {
        const hsts_pattern *tp = &APR_ARRAY_IDX(ch->patterns, i,
                                                hsts_pattern);

        if ((!best || tp->n.order < best->order)
            && !ap_strcasecmp_match(lname, tp->pattern)) {
            best = &tp->n;
        }
    }
    return best ? best->s : NULL;
}

typedef struct {
    apr_pool_t *p;
    hsts_chain *ch;
} hsts_chain_baton;

static int hsts_chain_visit(void *baton, conn_rec *c, server_rec *s)
{
    hsts_chain_baton *b = baton;

    (void)c;
    hsts_chain_add(b->p, b->ch, s);
    return 0;
}

/* The chain httpd uses for a connection to `ip` on `port`, made once per
 * distinct chain of the port. */
static void hsts_port_chain(apr_pool_t *p, hsts_port *hp, apr_hash_t *seen,
                            server_rec *main, const char *ip)
{
    apr_sockaddr_t *sa;
    conn_rec c;
    hsts_chain_baton b;
    const void *key[2];

    if (apr_sockaddr_info_get(&sa, ip, APR_UNSPEC, hp->port, 0, p)
        != APR_SUCCESS) {
        return;
    }
    memset(&c, 0, sizeof(c));
    c.pool = p;
    c.base_server = main;
    c.local_addr = sa;
    ap_update_vhost_given_ip(&c);
    key[0] = c.vhost_lookup_data;
    key[1] = c.base_server;
    if (apr_hash_get(seen, key, sizeof(key))) {
        return;
    }
    apr_hash_set(seen, apr_pmemdup(p, key, sizeof(key)), sizeof(key), hp);
    b.p = p;
    b.ch = hsts_chain_make(p);
    b.ch->dflt = c.base_server;
    /* without a name chain (one vhost on the address, or none) the
     * address' server answers every Host: it is then the chain's only
     * server, and its names only say whether the client's DNS is likely
     * to point there */
    ap_vhost_iterate_given_conn(&c, hsts_chain_visit, &b);
    APR_ARRAY_PUSH(hp->chains, hsts_chain *) = b.ch;
}

static int hsts_addr_is_any(const apr_sockaddr_t *a)
{
    static const char zeros[16] = { 0 };

    return a->ipaddr_len <= (int)sizeof(zeros)
           && !memcmp(a->ipaddr_ptr, zeros, (apr_size_t)a->ipaddr_len);
}

/* Every address a client can reach httpd at on `port`: each Listen of
 * the port, and for a wildcard Listen each address a vhost names on it
 * as well. */
/* Whether a wildcard listener gets connections to a vhost's address:
 * its own family, and IPv4 on a dual-stack IPv6 one (`Listen 80` binds
 * [::], and httpd serves 127.0.0.1:80 vhosts through it). */
static int hsts_addr_takes(const apr_sockaddr_t *listener,
                           const apr_sockaddr_t *vhost)
{
    return vhost->family == listener->family
#if APR_HAVE_IPV6
           || (listener->family == APR_INET6 && vhost->family == APR_INET)
#endif
           ;
}

static hsts_port *hsts_port_get(hsts_check *ck, apr_port_t port)
{
    hsts_preload_index *ix = ck->preload;
    hsts_port *hp = apr_hash_get(ix->ports, &port, sizeof(port));
    apr_hash_t *seen, *ips;
    const ap_listen_rec *lr;
    server_rec *s;
    char *ip;

    if (hp) {
        return hp;
    }
    hp = apr_pcalloc(ix->p, sizeof(*hp));
    hp->port = port;
    hp->chains = apr_array_make(ix->p, 2, sizeof(hsts_chain *));
    apr_hash_set(ix->ports, apr_pmemdup(ix->p, &port, sizeof(port)),
                 sizeof(port), hp);
    seen = apr_hash_make(ix->p);
    ips = apr_hash_make(ix->p);
    for (lr = ap_listeners; lr; lr = lr->next) {
        if (lr->bind_addr->port != port) {
            continue;
        }
        hp->listens = 1;
        apr_sockaddr_ip_get(&ip, lr->bind_addr);
        hsts_port_chain(ix->p, hp, seen, ck->main, ip);
        if (!hsts_addr_is_any(lr->bind_addr)) {
            continue;
        }
        for (s = ck->main->next; s; s = s->next) {
            const server_addr_rec *a;

            for (a = s->addrs; a; a = a->next) {
                if (a->host_addr && !hsts_addr_is_any(a->host_addr)
                    && (!a->host_port || a->host_port == port)
                    && hsts_addr_takes(lr->bind_addr, a->host_addr)) {
                    apr_sockaddr_ip_get(&ip, a->host_addr);
                    if (!apr_hash_get(ips, ip, APR_HASH_KEY_STRING)) {
                        apr_hash_set(ips, ip, APR_HASH_KEY_STRING, hp);
                        hsts_port_chain(ix->p, hp, seen, ck->main, ip);
                    }
                }
            }
        }
    }
    return hp;
}

/* Who answers `host` on `port`: the servers that name it where one does
 * (the client's DNS is taken to point where the name is configured),
 * else each address' default.  *named says which. */
static apr_array_header_t *hsts_answerers(hsts_check *ck, apr_port_t port,
                                          const char *host, int *named)
{
    hsts_port *hp = hsts_port_get(ck, port);
    apr_array_header_t *by_name = apr_array_make(ck->p, 1,
                                                 sizeof(server_rec *));
    apr_array_header_t *dflt = apr_array_make(ck->p, 1,
                                              sizeof(server_rec *));
    server_rec *by_name_main = NULL;
    int i, j;

    for (i = 0; i < hp->chains->nelts; i++) {
        const hsts_chain *ch = APR_ARRAY_IDX(hp->chains, i, hsts_chain *);
        server_rec *s = hsts_chain_named(ck->p, ch, host);
        apr_array_header_t *into;

        /* the main server, answering an address no vhost has, by its
         * global ServerName: the name's DNS points at a vhost that has
         * it where there is one */
        if (s && s == ck->main) {
            by_name_main = s;
            continue;
        }
        into = s ? by_name : dflt;

        s = s ? s : ch->dflt;
        for (j = 0; j < into->nelts; j++) {
            if (APR_ARRAY_IDX(into, j, server_rec *) == s) {
                break;
            }
        }
        if (j == into->nelts) {
            APR_ARRAY_PUSH(into, server_rec *) = s;
        }
    }
    if (by_name_main && !by_name->nelts) {
        APR_ARRAY_PUSH(by_name, server_rec *) = by_name_main;
    }
    *named = by_name->nelts > 0;
    return *named ? by_name : dflt;
}

/* A container whose children apply as if written in place: <IfModule>,
 * <IfDefine> and the like (httpd keeps only the true ones). */
static int hsts_is_section(const char *name)
{
    static const char *const sections[] = {
        "<VirtualHost", "<Directory", "<DirectoryMatch", "<Location",
        "<LocationMatch", "<Files", "<FilesMatch", "<If", "<ElseIf",
        "<Else", "<Proxy", "<ProxyMatch", "<Limit", "<LimitExcept",
        "<MDomain", "<MDomainSet", "<Macro", NULL
    };
    int i;

    for (i = 0; sections[i]; i++) {
        if (!ap_cstr_casecmp(name, sections[i])) {
            return 1;
        }
    }
    return 0;
}

/* Where each <VirtualHost> of the tree starts (httpd splices a true
 * <IfModule>, <IfDefine> and the like into their parent). */
static void hsts_trees_add(hsts_preload_index *ix, const ap_directive_t *d)
{
    for (; d; d = d->next) {
        if (!ap_cstr_casecmp(d->directive, "<VirtualHost")) {
            hsts_tree_key *k = apr_pcalloc(ix->p, sizeof(*k));

            k->file = d->filename;
            k->line = (apr_size_t)d->line_num;
            apr_hash_set(ix->trees, k, sizeof(*k), d->first_child);
        }
    }
}

static void hsts_index_make(hsts_check *ck)
{
    hsts_preload_index *ix = apr_pcalloc(ck->pool, sizeof(*ix));
    server_rec *s;

    ix->p = ck->pool;
    ix->ports = apr_hash_make(ix->p);
    ix->plain = hsts_chain_make(ix->p);
    ix->tls = hsts_chain_make(ix->p);
    ix->trees = apr_hash_make(ix->p);
    ck->preload = ix;
    for (s = ck->main; s; s = s->next) {
        hsts_chain_add(ix->p, hsts_is_tls(ck, s) ? ix->tls : ix->plain, s);
    }
    hsts_trees_add(ix, ap_conftree);
}

/* -- what one request gets ---------------------------------------------- */

#define HSTS_ANSWER_PAGE     0      /* no redirect: a page or an error */
#define HSTS_ANSWER_REDIRECT 1
#define HSTS_ANSWER_UNKNOWN  2      /* the configuration does not say */

typedef struct {
    int kind;
    const char *url;                /* HSTS_ANSWER_REDIRECT */
    const char *by;                 /* the directive and where, or why
                                     * the answer is unknown */
} hsts_answer;

typedef struct {
    hsts_check *ck;
    server_rec *s;
    int tls;
    const char *host;               /* as the client sends it, no port */
    apr_port_t port;
    const char *path;
    hsts_answer *ans;
} hsts_request;

static const char *hsts_at(apr_pool_t *p, const ap_directive_t *d)
{
    return apr_psprintf(p, "%s at %s:%d", d->directive, d->filename,
                        d->line_num);
}

static int hsts_unknown(hsts_request *rq, const char *why)
{
    rq->ans->kind = HSTS_ANSWER_UNKNOWN;
    rq->ans->by = why;
    return 1;
}

static int hsts_redirect_to(hsts_request *rq, const ap_directive_t *d,
                            const char *url)
{
    rq->ans->kind = HSTS_ANSWER_REDIRECT;
    rq->ans->url = url;
    rq->ans->by = hsts_at(rq->ck->p, d);
    return 1;
}

static int hsts_page(hsts_request *rq, const ap_directive_t *d)
{
    rq->ans->kind = HSTS_ANSWER_PAGE;
    rq->ans->by = hsts_at(rq->ck->p, d);
    return 1;
}

/* The configuration tree of a server: its <VirtualHost>'s children, or
 * the main configuration's. */
static const ap_directive_t *hsts_tree_of(hsts_check *ck,
                                          const server_rec *s)
{
    hsts_tree_key key;

    if (!s->defn_name) {
        return ap_conftree;
    }
    memset(&key, 0, sizeof(key));
    key.file = s->defn_name;
    key.line = s->defn_line_number;
    return apr_hash_get(ck->preload->trees, &key, sizeof(key));
}

/* The server-level directives called `name*` of a tree, in order. */
static void hsts_collect(apr_array_header_t *out, const ap_directive_t *d,
                         const char *const *names)
{
    int i;

    for (; d; d = d->next) {
        if (d->directive[0] == '<') {
            if (d->first_child && !hsts_is_section(d->directive)) {
                hsts_collect(out, d->first_child, names);
            }
            continue;
        }
        for (i = 0; names[i]; i++) {
            if (!ap_cstr_casecmp(d->directive, names[i])) {
                APR_ARRAY_PUSH(out, const ap_directive_t *) = d;
                break;
            }
        }
    }
}

static const char *const hsts_rewrite_names[] = {
    "RewriteEngine", "RewriteRule", "RewriteCond", "RewriteOptions", NULL
};
static const char *const hsts_alias_names[] = {
    "Redirect", "RedirectMatch", "RedirectPermanent", "RedirectTemp", NULL
};

/* The server-level directives of `s` called `names` (hsts_rewrite_names
 * or hsts_alias_names); the main server's are read once. */
static apr_array_header_t *hsts_directives(hsts_check *ck,
                                           const server_rec *s,
                                           const char *const *names)
{
    hsts_preload_index *ix = ck->preload;
    apr_array_header_t **cached = names == hsts_rewrite_names
                                  ? &ix->main_rewrite : &ix->main_alias;
    apr_array_header_t *out;

    if (!s->is_virtual && *cached) {
        return *cached;
    }
    out = apr_array_make(s->is_virtual ? ck->p : ix->p, 4,
                         sizeof(ap_directive_t *));
    hsts_collect(out, hsts_tree_of(ck, s), names);
    if (!s->is_virtual) {
        *cached = out;
    }
    return out;
}

static char **hsts_args(apr_pool_t *p, const char *args, int *n)
{
    char **v = apr_pcalloc(p, 5 * sizeof(*v));

    for (*n = 0; *n < 4 && *args; ) {
        char *w = ap_getword_conf(p, &args);

        if (!*w) {
            break;
        }
        v[(*n)++] = w;
    }
    return v;
}

/* A URL as mod_rewrite and mod_alias complete a path: on the request's
 * own scheme, host and port. */
static const char *hsts_full_url(hsts_request *rq, const char *target)
{
    apr_port_t dflt = rq->tls ? 443 : 80;

    if (ap_is_url(target)) {
        return target;
    }
    return apr_psprintf(rq->ck->p, "%s://%s%s%s%s", rq->tls ? "https"
                        : "http", rq->host, rq->port == dflt ? "" : ":",
                        rq->port == dflt ? "" : apr_itoa(rq->ck->p,
                                                         rq->port),
                        target);
}

/* A server variable as mod_rewrite gives it for the checker's request,
 * or NULL for one that depends on more than the configuration says. */
static const char *hsts_rw_var(hsts_request *rq, const char *name,
                               apr_size_t len)
{
    const core_dir_config *cd = ap_get_core_module_config(
        rq->s->lookup_defaults);

#define HSTS_VAR_IS(v) (len == sizeof(v) - 1 && !strncmp(name, v, len))
    if (HSTS_VAR_IS("HTTP_HOST")) {
        return rq->host;
    }
    if (HSTS_VAR_IS("SERVER_NAME")) {
        return cd->use_canonical_name == USE_CANONICAL_NAME_ON
               ? rq->s->server_hostname : rq->host;
    }
    if (HSTS_VAR_IS("SERVER_PORT")) {
        return apr_itoa(rq->ck->p, rq->port);
    }
    if (HSTS_VAR_IS("HTTPS")) {
        return rq->tls ? "on" : "off";
    }
    if (HSTS_VAR_IS("REQUEST_SCHEME")) {
        return rq->tls ? "https" : "http";
    }
    if (HSTS_VAR_IS("REQUEST_URI")) {
        return rq->path;
    }
#undef HSTS_VAR_IS
    return NULL;
}

/* mod_rewrite's expansion of a substitution or test string for the
 * request ($N from the rule's match), or NULL where it uses what the
 * configuration cannot know. */
static const char *hsts_rewrite_subst(hsts_request *rq, const char *subst,
                                      const ap_regmatch_t *m, int nm)
{
    apr_pool_t *p = rq->ck->p;
    const char *c = subst;
    char *out = "";

    while (*c) {
        const char *next = strpbrk(c, "$%\\"), *end, *v;

        if (!next) {
            out = apr_pstrcat(p, out, c, NULL);
            break;
        }
        out = apr_pstrcat(p, out, apr_pstrmemdup(p, c, next - c), NULL);
        c = next;
        if (*c == '\\' && c[1]) {
            out = apr_pstrcat(p, out, apr_pstrmemdup(p, c + 1, 1), NULL);
            c += 2;
        }
        else if (*c == '$' && apr_isdigit(c[1])) {
            int k = c[1] - '0';

            if (k < nm && m[k].rm_so >= 0) {
                out = apr_pstrcat(p, out, apr_pstrmemdup(p, rq->path
                                  + m[k].rm_so, m[k].rm_eo - m[k].rm_so),
                                  NULL);
            }
            c += 2;
        }
        else if (*c == '%' && c[1] == '{') {
            if (!(end = strchr(c, '}'))
                || !(v = hsts_rw_var(rq, c + 2, (apr_size_t)(end - c - 2)))) {
                return NULL;
            }
            out = apr_pstrcat(p, out, v, NULL);
            c = end + 1;
        }
        else if ((*c == '%' && apr_isdigit(c[1]))
                 || (*c == '$' && c[1] == '{')) {
            return NULL;
        }
        else {
            out = apr_pstrcat(p, out, apr_pstrmemdup(p, c, 1), NULL);
            c++;
        }
    }
    return out;
}

/* A RewriteCond's [NC] and [OR] flags. */
static void hsts_cond_flags(apr_pool_t *p, const ap_directive_t *d,
                            int *nocase, int *ornext)
{
    char **a, *tok, *state;
    int n;

    a = hsts_args(p, d->args, &n);
    *nocase = *ornext = 0;
    if (n < 3 || a[2][0] != '[') {
        return;
    }
    for (tok = apr_strtok(a[2] + 1, ",]", &state); tok;
         tok = apr_strtok(NULL, ",]", &state)) {
        if (!ap_cstr_casecmp(tok, "NC") || !ap_cstr_casecmp(tok, "nocase")) {
            *nocase = 1;
        }
        else if (!ap_cstr_casecmp(tok, "OR")
                 || !ap_cstr_casecmp(tok, "ornext")) {
            *ornext = 1;
        }
    }
}

/* One RewriteCond for the request: 1 true, 0 false, -1 when it asks
 * what the configuration cannot know. */
static int hsts_rewrite_cond(hsts_request *rq, const ap_directive_t *d,
                             const ap_regmatch_t *m, int nm)
{
    apr_pool_t *p = rq->ck->p;
    const char *test, *pat;
    char **a;
    int n, neg, nocase, ornext, r;

    a = hsts_args(p, d->args, &n);
    if (n < 2 || !(test = hsts_rewrite_subst(rq, a[0], m, nm))) {
        return -1;
    }
    hsts_cond_flags(p, d, &nocase, &ornext);
    pat = a[1];
    neg = *pat == '!';
    pat += neg;
    if (*pat == '=') {
        r = nocase ? !ap_cstr_casecmp(test, pat + 1) : !strcmp(test, pat + 1);
    }
    else if (*pat == '<' || *pat == '>' || *pat == '-') {
        return -1;
    }
    else {
        ap_regex_t re;

        if (ap_regcomp(&re, pat, AP_REG_EXTENDED
                       | (nocase ? AP_REG_ICASE : 0))) {
            return -1;
        }
        r = !ap_regexec(&re, test, 0, NULL, 0);
        ap_regfree(&re);
    }
    return r != neg;
}

/* The conditions of a rule, combined as mod_rewrite does (an [OR]
 * condition that holds skips the rest of its group): 1, 0 or -1. */
static int hsts_rewrite_conds(hsts_request *rq,
                              const apr_array_header_t *conds,
                              const ap_regmatch_t *m, int nm)
{
    int i, nocase, ornext, r;

    for (i = 0; i < conds->nelts; i++) {
        const ap_directive_t *d = APR_ARRAY_IDX(conds, i, ap_directive_t *);

        if ((r = hsts_rewrite_cond(rq, d, m, nm)) < 0) {
            return -1;
        }
        hsts_cond_flags(rq->ck->p, d, &nocase, &ornext);
        if (ornext) {
            if (!r) {
                continue;
            }
            while (ornext && ++i < conds->nelts) {
                hsts_cond_flags(rq->ck->p, APR_ARRAY_IDX(conds, i,
                                                         ap_directive_t *),
                                &nocase, &ornext);
            }
        }
        else if (!r) {
            return 0;
        }
    }
    return 1;
}

typedef struct {
    int redirect;           /* R: the status, or 302 */
    int last, nocase, forbidden, gone, proxy, chain, skip;
} hsts_rw_flags;

static void hsts_rw_flags_parse(apr_pool_t *p, const char *text,
                                hsts_rw_flags *f)
{
    char *copy, *tok, *state;

    memset(f, 0, sizeof(*f));
    if (!text || text[0] != '[') {
        return;
    }
    copy = apr_pstrdup(p, text + 1);
    if (*copy && copy[strlen(copy) - 1] == ']') {
        copy[strlen(copy) - 1] = '\0';
    }
    for (tok = apr_strtok(copy, ",", &state); tok;
         tok = apr_strtok(NULL, ",", &state)) {
        char *eq = strchr(tok, '=');
        const char *val = eq ? eq + 1 : NULL;

        if (eq) {
            *eq = '\0';
        }
        if (!ap_cstr_casecmp(tok, "R") || !ap_cstr_casecmp(tok, "redirect")) {
            f->redirect = !val ? 302 : !ap_cstr_casecmp(val, "permanent")
                          ? 301 : !ap_cstr_casecmp(val, "temp") ? 302
                          : !ap_cstr_casecmp(val, "seeother") ? 303
                          : atoi(val);
        }
        else if (!ap_cstr_casecmp(tok, "L") || !ap_cstr_casecmp(tok, "last")
                 || !ap_cstr_casecmp(tok, "END")) {
            f->last = 1;
        }
        else if (!ap_cstr_casecmp(tok, "NC")
                 || !ap_cstr_casecmp(tok, "nocase")) {
            f->nocase = 1;
        }
        else if (!ap_cstr_casecmp(tok, "F")
                 || !ap_cstr_casecmp(tok, "forbidden")) {
            f->forbidden = 1;
        }
        else if (!ap_cstr_casecmp(tok, "G") || !ap_cstr_casecmp(tok, "gone")) {
            f->gone = 1;
        }
        else if (!ap_cstr_casecmp(tok, "P") || !ap_cstr_casecmp(tok, "proxy")
                 || !ap_cstr_casecmp(tok, "H")
                 || !ap_cstr_casecmp(tok, "handler")
                 || !ap_cstr_casecmp(tok, "PT")
                 || !ap_cstr_casecmp(tok, "passthrough")) {
            f->proxy = 1;
        }
        else if (!ap_cstr_casecmp(tok, "C") || !ap_cstr_casecmp(tok, "chain")
                 || !ap_cstr_casecmp(tok, "S") || !ap_cstr_casecmp(tok,
                                                                   "skip")
                 || !ap_cstr_casecmp(tok, "N")
                 || !ap_cstr_casecmp(tok, "next")) {
            f->chain = 1;
        }
    }
}

/* RewriteOptions' words, as mod_rewrite reads them (exact words: no
 * "Inherit" inside "IgnoreInherit"); several lines add up. */
#define HSTS_RW_INHERIT             1
#define HSTS_RW_INHERIT_BEFORE      2
#define HSTS_RW_INHERIT_DOWN        4
#define HSTS_RW_INHERIT_DOWN_BEFORE 8
#define HSTS_RW_IGNORE_INHERIT      16

/* The server's RewriteEngine (-1: unset) and RewriteOptions (-1: unset)
 * from its directives. */
static void hsts_rewrite_state(apr_pool_t *p, const apr_array_header_t *ds,
                               int *on, int *options)
{
    static const char *const words[] = {
        "inherit", "inheritbefore", "inheritdown", "inheritdownbefore",
        "ignoreinherit", NULL
    };
    int i, k;

    *on = *options = -1;
    for (i = 0; i < ds->nelts; i++) {
        const ap_directive_t *d = APR_ARRAY_IDX(ds, i, ap_directive_t *);
        const char *args = d->args;

        if (!ap_cstr_casecmp(d->directive, "RewriteEngine")) {
            *on = !ap_cstr_casecmp(d->args, "on");
        }
        else if (!ap_cstr_casecmp(d->directive, "RewriteOptions")) {
            *options = *options < 0 ? 0 : *options;
            while (*args) {
                const char *w = ap_getword_conf(p, &args);

                for (k = 0; words[k] && ap_cstr_casecmp(w, words[k]); k++) {
                    continue;
                }
                *options |= words[k] ? 1 << k : 0;
            }
        }
    }
}

/* mod_rewrite's rules of the server (translate_name, before anything
 * else): non-zero when they decide the answer.  A vhost's engine state
 * and options are the main server's unless it sets its own; its rules
 * come with the main server's as mod_rewrite's server merge says. */
static int hsts_eval_rewrite(hsts_request *rq)
{
    const char *const *names = hsts_rewrite_names;
    apr_pool_t *p = rq->ck->p;
    apr_array_header_t *mine = hsts_directives(rq->ck, rq->s, names);
    apr_array_header_t *rules = apr_array_make(p, 4,
                                               sizeof(ap_directive_t *));
    apr_array_header_t *conds = apr_array_make(p, 2,
                                               sizeof(ap_directive_t *));
    int on, options, i, ok;

    hsts_rewrite_state(p, mine, &on, &options);
    if (rq->s->is_virtual) {
        apr_array_header_t *base = hsts_directives(rq->ck, rq->ck->main,
                                                   names);
        int base_on, base_options, opts;

        hsts_rewrite_state(p, base, &base_on, &base_options);
        on = on < 0 ? base_on : on;
        opts = options < 0 ? (base_options < 0 ? 0 : base_options) : options;
        base_options = base_options < 0 ? 0 : base_options;
        if ((opts & HSTS_RW_INHERIT)
            || ((base_options & HSTS_RW_INHERIT_DOWN)
                && !(opts & HSTS_RW_IGNORE_INHERIT))) {
            apr_array_cat(rules, mine);
            apr_array_cat(rules, base);
        }
        else if ((opts & HSTS_RW_INHERIT_BEFORE)
                 || ((base_options & HSTS_RW_INHERIT_DOWN_BEFORE)
                     && !(opts & HSTS_RW_IGNORE_INHERIT))) {
            apr_array_cat(rules, base);
            apr_array_cat(rules, mine);
        }
        else {
            apr_array_cat(rules, mine);
        }
    }
    else {
        rules = mine;
    }
    if (on != 1) {
        return 0;
    }
    for (i = 0; i < rules->nelts; i++) {
        const ap_directive_t *d = APR_ARRAY_IDX(rules, i, ap_directive_t *);
        hsts_rw_flags f;
        ap_regex_t re;
        ap_regmatch_t m[10];
        const char *pat, *subst, *url;
        char **a;
        int n, neg, matched;

        if (!ap_cstr_casecmp(d->directive, "RewriteCond")) {
            APR_ARRAY_PUSH(conds, const ap_directive_t *) = d;
            continue;
        }
        if (ap_cstr_casecmp(d->directive, "RewriteRule")) {
            continue;
        }
        a = hsts_args(p, d->args, &n);
        if (n < 2) {
            continue;
        }
        hsts_rw_flags_parse(p, n > 2 ? a[2] : NULL, &f);
        pat = a[0];
        subst = a[1];
        neg = pat[0] == '!';
        if (ap_regcomp(&re, pat + neg, AP_REG_EXTENDED
                       | (f.nocase ? AP_REG_ICASE : 0))) {
            return hsts_unknown(rq, apr_psprintf(p, "%s: a pattern this "
                                                 "check cannot read",
                                                 hsts_at(p, d)));
        }
        matched = (ap_regexec(&re, rq->path, 10, m, 0) == 0) != neg;
        ap_regfree(&re);
        ok = matched ? hsts_rewrite_conds(rq, conds, m, neg ? 0 : 10) : 0;
        apr_array_clear(conds);
        if (ok < 0) {
            return hsts_unknown(rq, apr_psprintf(p, "%s has a RewriteCond "
                                                 "that depends on more than "
                                                 "the configuration says",
                                                 hsts_at(p, d)));
        }
        if (!ok) {
            continue;
        }
        if (f.chain) {
            return hsts_unknown(rq, apr_psprintf(p, "%s chains or skips "
                                                 "rules (C, S or N)",
                                                 hsts_at(p, d)));
        }
        if (f.forbidden || f.gone
            || (f.redirect && (f.redirect < 300 || f.redirect > 399))) {
            return hsts_page(rq, d);
        }
        if (!strcmp(subst, "-") && !f.redirect) {
            if (f.last) {
                return 0;
            }
            continue;
        }
        if (f.proxy || !f.redirect) {
            return hsts_unknown(rq, apr_psprintf(p, "%s rewrites %s without "
                                                 "a redirect flag; what "
                                                 "follows is not evaluated",
                                                 hsts_at(p, d), rq->path));
        }
        if (!(url = hsts_rewrite_subst(rq, subst, m, neg ? 0 : 10))) {
            return hsts_unknown(rq, apr_psprintf(p, "%s redirects to %s, "
                                                 "which depends on the "
                                                 "request", hsts_at(p, d),
                                                 subst));
        }
        return hsts_redirect_to(rq, d, hsts_full_url(rq, url));
    }
    return 0;
}

/* mod_alias' Redirect, RedirectMatch, RedirectPermanent and RedirectTemp
 * of the server and then the main server's (translate_name): non-zero
 * when one matches the path. */
static int hsts_alias_matches(const char *path, const char *fake)
{
    apr_size_t n = strlen(fake);

    if (strncmp(path, fake, n)) {
        return -1;
    }
    return n && (fake[n - 1] == '/' || !path[n] || path[n] == '/') ? (int)n
                                                                   : -1;
}

static int hsts_eval_alias_list(hsts_request *rq,
                                const apr_array_header_t *list)
{
    apr_pool_t *p = rq->ck->p;
    int i;

    for (i = 0; i < list->nelts; i++) {
        const ap_directive_t *d = APR_ARRAY_IDX(list, i, ap_directive_t *);
        const char *name = d->directive, *status = NULL, *from, *to;
        char **a;
        int n, code, k;

        a = hsts_args(p, d->args, &n);
        if (!ap_cstr_casecmp(name, "RedirectPermanent")
            || !ap_cstr_casecmp(name, "RedirectTemp")) {
            status = !ap_cstr_casecmp(name, "RedirectTemp") ? "temp"
                                                            : "permanent";
            from = n > 0 ? a[0] : "";
            to = n > 1 ? a[1] : NULL;
        }
        else if (n >= 3 || (n == 2 && (!ap_cstr_casecmp(a[0], "gone")
                                       || apr_isdigit(a[0][0])))) {
            status = a[0];
            from = a[1];
            to = n > 2 ? a[2] : NULL;
        }
        else {
            from = n > 0 ? a[0] : "";
            to = n > 1 ? a[1] : NULL;
        }
        code = !status || !ap_cstr_casecmp(status, "temp") ? 302
               : !ap_cstr_casecmp(status, "permanent") ? 301
               : !ap_cstr_casecmp(status, "seeother") ? 303
               : !ap_cstr_casecmp(status, "gone") ? 410 : atoi(status);
        if (!ap_cstr_casecmp(name, "RedirectMatch")) {
            ap_regex_t re;
            ap_regmatch_t m[AP_MAX_REG_MATCH];
            int miss;

            if (ap_regcomp(&re, from, AP_REG_EXTENDED)) {
                return hsts_unknown(rq, apr_psprintf(p, "%s: a pattern "
                                                     "this check cannot "
                                                     "read", hsts_at(p, d)));
            }
            miss = ap_regexec(&re, rq->path, AP_MAX_REG_MATCH, m, 0);
            if (!miss && to) {
                to = ap_pregsub(p, to, rq->path, AP_MAX_REG_MATCH, m);
            }
            ap_regfree(&re);
            if (miss) {
                continue;
            }
        }
        else {
            if ((k = hsts_alias_matches(rq->path, from)) < 0) {
                continue;
            }
            if (to) {
                to = apr_pstrcat(p, to, rq->path + k, NULL);
            }
        }
        if (code < 300 || code > 399 || !to) {
            return hsts_page(rq, d);
        }
        return hsts_redirect_to(rq, d, hsts_full_url(rq, to));
    }
    return 0;
}

static int hsts_eval_alias(hsts_request *rq)
{
    if (hsts_eval_alias_list(rq, hsts_directives(rq->ck, rq->s,
                                                 hsts_alias_names))) {
        return 1;
    }
    return rq->s->is_virtual
           && hsts_eval_alias_list(rq, hsts_directives(rq->ck, rq->ck->main,
                                                       hsts_alias_names));
}

/* Whether a <Location> or <Directory> section of the server applies to
 * `path` (the URL path, or the file path of the docroot). */
static int hsts_section_applies(const core_dir_config *cd, const char *path,
                                int location)
{
    apr_size_t n;

    if (cd->r) {
        return !ap_regexec(cd->r, path, 0, NULL, 0);
    }
    if (!cd->d) {
        return 0;
    }
    if (cd->d_is_fnmatch) {
        return !apr_fnmatch(cd->d, path, APR_FNM_PATHNAME);
    }
    n = strlen(cd->d);
    if (strncmp(path, cd->d, n)) {
        return location ? 0 : !strncmp(path, cd->d, n - 1)
                              && cd->d[n - 1] == '/' && !path[n - 1];
    }
    return !n || cd->d[n - 1] == '/' || !path[n] || path[n] == '/';
}

/* Whether `host` is one of the server's names, as httpd's
 * ap_matches_request_vhost() asks it. */
static int hsts_names(const server_rec *s, const char *host)
{
    int i;

    if (s->server_hostname && !ap_cstr_casecmp(host, s->server_hostname)) {
        return 1;
    }
    for (i = 0; s->names && i < s->names->nelts; i++) {
        if (!ap_cstr_casecmp(host, APR_ARRAY_IDX(s->names, i,
                                                 const char *))) {
            return 1;
        }
    }
    for (i = 0; s->wild_names && i < s->wild_names->nelts; i++) {
        if (!ap_strcasecmp_match(host, APR_ARRAY_IDX(s->wild_names, i,
                                                     const char *))) {
            return 1;
        }
    }
    return 0;
}

/* HSTSRedirect as it stands for the path: the server's, then the
 * <Directory> sections of the docroot, then the <Location> sections. */
static int hsts_eval_hsts_redirect(hsts_request *rq)
{
    const hsts_dir_conf *dc = ap_get_module_config(rq->s->lookup_defaults,
                                                   &hsts_module);
    const hsts_redirect *rd = dc ? dc->redirect : NULL;
    core_server_config *core = ap_get_core_module_config(
        rq->s->module_config);
    const apr_array_header_t *lists[2];
    const char *paths[2], *host;
    char *url;
    apr_size_t len;
    int l, i;

    lists[0] = core->sec_dir;
    paths[0] = core->ap_document_root;
    lists[1] = core->sec_url;
    paths[1] = rq->path;
    for (l = 0; l < 2; l++) {
        ap_conf_vector_t **secs;

        if (!lists[l] || !paths[l]) {
            continue;
        }
        secs = (ap_conf_vector_t **)lists[l]->elts;
        for (i = 0; i < lists[l]->nelts; i++) {
            const hsts_dir_conf *sdc = ap_get_module_config(secs[i],
                                                            &hsts_module);
            const core_dir_config *cd = ap_get_core_module_config(secs[i]);

            if (sdc && sdc->redirect
                && hsts_section_applies(cd, paths[l], l == 1)) {
                rd = sdc->redirect;
            }
        }
    }
    if (!rd || !rd->args.on) {
        return 0;
    }
    /* the request's host when it names the vhost, else ServerName */
    host = rq->host;
    if (!hsts_host_is_valid(host) || !hsts_names(rq->s, host)) {
        host = rq->s->server_hostname;
    }
    if (!host || !hsts_host_is_valid(host)) {
        return 0;
    }
    len = HSTS_URL_MAX(rq->path);
    url = apr_palloc(rq->ck->p, len);
    hsts_redirect_url(url, len, host, rd->args.port, rq->path);
    rq->ans->kind = HSTS_ANSWER_REDIRECT;
    rq->ans->url = url;
    rq->ans->by = apr_psprintf(rq->ck->p, "HSTSRedirect (%s)",
                               rd->where.source);
    return 1;
}

/* Whether a section of the tree may apply to the request: <Location>
 * and <Directory> are matched (the latter against the docroot), others
 * (<Files>, <If>, <Proxy>...) are taken to. */
static int hsts_tree_applies(hsts_request *rq, const ap_directive_t *d,
                             const char *root)
{
    apr_pool_t *p = rq->ck->p;
    char *args = apr_pstrdup(p, d->args ? d->args : ""), *end;
    const char *a = args, *arg;
    int dir = !ap_cstr_casecmp(d->directive, "<Directory")
              || !ap_cstr_casecmp(d->directive, "<DirectoryMatch");
    int regex = !ap_cstr_casecmp(d->directive, "<LocationMatch")
                || !ap_cstr_casecmp(d->directive, "<DirectoryMatch");
    const char *path = dir ? root : rq->path;
    ap_regex_t re;
    int match;

    if (!dir && ap_cstr_casecmp(d->directive, "<Location")
        && ap_cstr_casecmp(d->directive, "<LocationMatch")) {
        return 1;
    }
    if (!path) {
        return 0;
    }
    if ((end = strrchr(args, '>'))) {
        *end = '\0';
    }
    arg = ap_getword_conf(p, &a);
    if (*arg == '~') {
        regex = 1;
        arg = ap_getword_conf(p, &a);
    }
    if (regex) {
        if (ap_regcomp(&re, arg, AP_REG_EXTENDED)) {
            return 1;
        }
        match = !ap_regexec(&re, path, 0, NULL, 0);
        ap_regfree(&re);
        return match;
    }
    if (dir) {
        apr_size_t n = strlen(arg);

        while (n > 1 && arg[n - 1] == '/') {
            n--;
        }
        return !strncmp(path, arg, n) && (n == 1 || !path[n]
                                          || path[n] == '/');
    }
    return hsts_alias_matches(path, arg) >= 0;
}

static const char *const hsts_late_names[] = {
    "Redirect", "RedirectMatch", "RedirectPermanent", "RedirectTemp",
    "RewriteRule", "MDRequireHttps", NULL
};

static int hsts_is_late(const ap_directive_t *d)
{
    int j;

    for (j = 0; hsts_late_names[j]; j++) {
        if (!ap_cstr_casecmp(d->directive, hsts_late_names[j])) {
            return 1;
        }
    }
    return 0;
}

/* The nodes of a tree that may redirect after HSTSRedirect: each
 * MDRequireHttps, and each section (<Location>, <Directory>, ...) with a
 * redirect of its own. */
static void hsts_late_nodes(apr_array_header_t *out, const ap_directive_t *d)
{
    const ap_directive_t *c;

    for (; d; d = d->next) {
        if (!ap_cstr_casecmp(d->directive, "MDRequireHttps")) {
            APR_ARRAY_PUSH(out, const ap_directive_t *) = d;
            continue;
        }
        if (d->directive[0] != '<' || !d->first_child
            || !ap_cstr_casecmp(d->directive, "<VirtualHost")) {
            continue;
        }
        if (!hsts_is_section(d->directive)) {
            hsts_late_nodes(out, d->first_child);
            continue;
        }
        for (c = d->first_child; c && !hsts_is_late(c); c = c->next) {
            continue;
        }
        if (c) {
            APR_ARRAY_PUSH(out, const ap_directive_t *) = d;
        }
    }
}

/* Of those nodes, the first that applies to the request, said, or
 * NULL. */
static const char *hsts_tree_redirects(hsts_request *rq,
                                       const apr_array_header_t *nodes,
                                       const char *root)
{
    apr_pool_t *p = rq->ck->p;
    const ap_directive_t *c;
    int i;

    for (i = 0; i < nodes->nelts; i++) {
        const ap_directive_t *d = APR_ARRAY_IDX(nodes, i, ap_directive_t *);

        if (d->directive[0] != '<') {
            if (ap_cstr_casecmp(d->args, "off")) {
                return apr_psprintf(p, "%s (mod_md) redirects by its own "
                                    "rules", hsts_at(p, d));
            }
            continue;
        }
        if (!hsts_tree_applies(rq, d, root)) {
            continue;
        }
        for (c = d->first_child; !hsts_is_late(c); c = c->next) {
            continue;
        }
        return apr_psprintf(p, "%s in %s %s may redirect; this check does "
                            "not evaluate it", hsts_at(p, c), d->directive,
                            d->args);
    }
    return NULL;
}

/* Redirects that sections, .htaccess files or other modules may add
 * (fixups, or their own hooks): non-zero when there may be one. */
static int hsts_eval_late(hsts_request *rq)
{
    apr_pool_t *p = rq->ck->p;
    core_server_config *core = ap_get_core_module_config(
        rq->s->module_config);
    const core_dir_config *cd;
    const apr_array_header_t *dirs = core->sec_dir;
    const char *root = core->ap_document_root, *why;
    apr_array_header_t *nodes;
    int override, i;

    nodes = apr_array_make(p, 2, sizeof(ap_directive_t *));
    if (rq->s->is_virtual) {
        hsts_late_nodes(nodes, hsts_tree_of(rq->ck, rq->s));
    }
    why = hsts_tree_redirects(rq, nodes, root);
    if (!rq->ck->preload->main_late) {
        rq->ck->preload->main_late = apr_array_make(rq->ck->preload->p, 2,
                                                    sizeof(ap_directive_t *));
        hsts_late_nodes(rq->ck->preload->main_late, ap_conftree);
    }
    if (!why) {
        why = hsts_tree_redirects(rq, rq->ck->preload->main_late, root);
    }
    if (why) {
        return hsts_unknown(rq, why);
    }
    /* .htaccess: Redirect, RewriteRule and HSTSRedirect need FileInfo */
    cd = ap_get_core_module_config(rq->s->lookup_defaults);
    override = cd->override;
    for (i = 0; dirs && root && i < dirs->nelts; i++) {
        const core_dir_config *sd = ap_get_core_module_config(
            APR_ARRAY_IDX(dirs, i, ap_conf_vector_t *));

        if (hsts_section_applies(sd, root, 0)
            && !(sd->override & OR_UNSET)) {
            override = sd->override;
        }
    }
    if (root && (override & OR_FILEINFO)) {
        const char *name = core->access_name ? core->access_name
                                             : ".htaccess";
        char *dir = apr_pstrdup(p, root), *slash;
        apr_finfo_t fi;

        name = ap_getword_conf(p, &name);
        for (;;) {
            const char *file = apr_pstrcat(p, *dir ? dir : "", "/", name,
                                           NULL);

            if (apr_stat(&fi, file, APR_FINFO_TYPE, p) == APR_SUCCESS) {
                return hsts_unknown(rq, apr_psprintf(p, "%s may redirect "
                                                     "(AllowOverride lets "
                                                     "it say Redirect, "
                                                     "RewriteRule or "
                                                     "HSTSRedirect)",
                                                     file));
            }
            if (!*dir || !(slash = strrchr(dir, '/'))) {
                break;
            }
            *slash = '\0';
        }
    }
    return 0;
}

static void hsts_eval(hsts_request *rq)
{
    rq->ans->kind = HSTS_ANSWER_PAGE;
    rq->ans->url = NULL;
    rq->ans->by = NULL;
    if (hsts_eval_rewrite(rq) || hsts_eval_alias(rq)
        || (!rq->tls && hsts_eval_hsts_redirect(rq))) {
        return;
    }
    hsts_eval_late(rq);
}

/* -- the checks ----------------------------------------------------------- */

static const char *hsts_finding_where(hsts_check *ck, const server_rec *s,
                                      const hsts_rule *rule)
{
    if (ck->out) {
        return NULL;
    }
    return apr_psprintf(ck->p, "vhost %s (%s:%u), HSTSPolicy at %s:%d",
                        s->server_hostname ? s->server_hostname : "*",
                        s->defn_name ? s->defn_name : "main server",
                        s->defn_line_number, rule->where.file,
                        rule->where.line);
}

static const char *hsts_server_label(apr_pool_t *p, const server_rec *s)
{
    if (!s->defn_name) {
        return apr_psprintf(p, "the main server (%s)",
                            s->server_hostname ? s->server_hostname : "");
    }
    return apr_psprintf(p, "vhost %s (%s:%u)",
                        s->server_hostname ? s->server_hostname : "*",
                        s->defn_name, s->defn_line_number);
}

static void hsts_finding(hsts_check *ck, server_rec *s, const hsts_rule *rule,
                         const char *kind, int level, const char *text)
{
    /* hsts_say adds the code to the log line */
    if (hsts_tell(ck, kind, level)) {
        hsts_say(ck, s, kind, level, hsts_finding_where(ck, s, rule), text);
    }
}

/* Whether a server's policy passes the list's header rules. */
static int hsts_preloadable(const server_rec *t)
{
    const hsts_dir_conf *dc = ap_get_module_config(t->lookup_defaults,
                                                   &hsts_module);
    const hsts_rule *rule = dc ? dc->rule : NULL;
    hsts_finding_t f[HSTS_FINDINGS_MAX];
    int n, i;

    if (!rule || !rule->header || !rule->policy.preload) {
        return 0;
    }
    n = hsts_preload_findings(&rule->policy, f);
    for (i = 0; i < n; i++) {
        if (f[i].problem) {
            return 0;
        }
    }
    return 1;
}

/* The server that answers `url`, when this configuration says: over TLS
 * on port 443 without a Listen of it, the vhost being checked stands
 * for D (a load balancer or a port mapping may put it there). */
static server_rec *hsts_server_for(hsts_check *ck, server_rec *self,
                                   const char *domain, const apr_uri_t *u,
                                   int tls)
{
    apr_array_header_t *who;
    apr_port_t port = u->port ? u->port : tls ? 443 : 80;
    int named;

    if (!u->hostname) {
        return NULL;
    }
    if (!hsts_port_get(ck, port)->listens) {
        return tls && port == 443 && !ap_cstr_casecmp(u->hostname, domain)
               ? self : NULL;
    }
    who = hsts_answerers(ck, port, u->hostname, &named);
    return who->nelts == 1 ? APR_ARRAY_IDX(who, 0, server_rec *) : NULL;
}

/* The redirects after the first, as the checker follows them: at most
 * HSTS_MAX_REDIRECTS in all, each to https. */
static void hsts_follow(hsts_check *ck, server_rec *s, const hsts_rule *rule,
                        const char *domain, const hsts_answer *first)
{
    hsts_answer ans = *first;
    const char *urls[HSTS_MAX_REDIRECTS + 2];
    int hops = 1;

    urls[0] = first->url;
    while (hops <= HSTS_MAX_REDIRECTS) {
        hsts_request rq;
        apr_uri_t u;
        int tls;

        if (apr_uri_parse(ck->p, ans.url, &u) != APR_SUCCESS || !u.scheme) {
            return;
        }
        tls = !ap_cstr_casecmp(u.scheme, "https");
        if (hops > 1 && !tls) {
            hsts_finding(ck, s, rule, "preload-redirect-insecure",
                         HSTS_PROBLEM, apr_psprintf(ck->p, "http://%s/ "
                         "redirects to %s on redirect #%d (%s): every "
                         "redirect after the first must stay on https",
                         domain, ans.url, hops, ans.by));
            return;
        }
        memset(&rq, 0, sizeof(rq));
        rq.ck = ck;
        rq.tls = tls;
        rq.host = u.hostname;
        rq.port = u.port ? u.port : tls ? 443 : 80;
        rq.path = u.path && *u.path ? u.path : "/";
        rq.ans = &ans;
        if (!(rq.s = hsts_server_for(ck, s, domain, &u, tls))
            || hsts_is_tls(ck, rq.s) != tls) {
            return;
        }
        hsts_eval(&rq);
        if (ans.kind != HSTS_ANSWER_REDIRECT) {
            return;
        }
        urls[hops++] = ans.url;
    }
    hsts_finding(ck, s, rule, "preload-too-many-redirects", HSTS_PROBLEM,
                 apr_psprintf(ck->p, "http://%s/ redirects more than %d "
                              "times (%s -> %s -> %s -> %s, the last by "
                              "%s): the checker follows at most %d", domain,
                              HSTS_MAX_REDIRECTS, urls[0], urls[1], urls[2],
                              urls[3], ans.by, HSTS_MAX_REDIRECTS));
}

/* The first redirect of http://D/ and where it lands. */
static void hsts_check_first(hsts_check *ck, server_rec *s,
                             const hsts_rule *rule, const char *domain,
                             server_rec *answerer, int header_ok)
{
    hsts_answer ans;
    hsts_request rq;
    apr_uri_t u;
    const char *who = hsts_server_label(ck->p, answerer);
    server_rec *t;
    char *www;

    memset(&rq, 0, sizeof(rq));
    rq.ck = ck;
    rq.s = answerer;
    rq.tls = 0;
    rq.host = domain;
    rq.port = 80;
    rq.path = "/";
    rq.ans = &ans;
    if (hsts_is_tls(ck, answerer)) {
        hsts_finding(ck, s, rule, "preload-no-redirect", HSTS_PROBLEM,
                     apr_psprintf(ck->p, "http://%s/ reaches %s on port 80, "
                                  "which speaks TLS and answers plain HTTP "
                                  "with an error, not a redirect to "
                                  "https://%s/", domain, who, domain));
        return;
    }
    hsts_eval(&rq);
    if (ans.kind == HSTS_ANSWER_UNKNOWN) {
        hsts_finding(ck, s, rule, "preload-redirect-unverified", HSTS_HINT,
                     apr_psprintf(ck->p, "http://%s/ reaches %s, where %s; "
                                  "not verified: that its first redirect "
                                  "goes to https://%s/", domain, who,
                                  ans.by, domain));
        return;
    }
    if (ans.kind == HSTS_ANSWER_PAGE) {
        hsts_finding(ck, s, rule, "preload-no-redirect", HSTS_PROBLEM,
                     apr_psprintf(ck->p, "http://%s/ reaches %s, which does "
                                  "not redirect it%s%s: the list needs a "
                                  "redirect to https://%s/ first; add "
                                  "HSTSRedirect on there", domain, who,
                                  ans.by ? " (it answers by " : "",
                                  ans.by ? apr_pstrcat(ck->p, ans.by, ")",
                                                       NULL) : "",
                                  domain));
        return;
    }
    if (apr_uri_parse(ck->p, ans.url, &u) != APR_SUCCESS || !u.hostname) {
        hsts_finding(ck, s, rule, "preload-redirect-elsewhere", HSTS_PROBLEM,
                     apr_psprintf(ck->p, "http://%s/ (%s) redirects to %s "
                                  "(%s), which is no URL: the first "
                                  "redirect must go to https://%s/",
                                  domain, who, ans.url, ans.by, domain));
        return;
    }
    www = apr_pstrcat(ck->p, "www.", domain, NULL);
    if (!ap_cstr_casecmp(u.hostname, www)) {
        hsts_finding(ck, s, rule, "preload-redirect-www-first", HSTS_PROBLEM,
                     apr_psprintf(ck->p, "http://%s/ (%s) redirects to %s "
                                  "first (%s): it must go to https://%s/ "
                                  "before www, so that browsers note HSTS "
                                  "for the domain itself", domain, who,
                                  ans.url, ans.by, domain));
        return;
    }
    if (!u.scheme || ap_cstr_casecmp(u.scheme, "https")
        || strcmp(u.hostname, domain)) {
        hsts_finding(ck, s, rule, "preload-redirect-elsewhere", HSTS_PROBLEM,
                     apr_psprintf(ck->p, "http://%s/ (%s) redirects to %s "
                                  "(%s): the first redirect must go to "
                                  "https://%s/, the same host over https",
                                  domain, who, ans.url, ans.by, domain));
        return;
    }
    if (u.port && u.port != 443 && !hsts_port_get(ck, u.port)->listens) {
        hsts_finding(ck, s, rule, "preload-redirect-unreachable",
                     HSTS_PROBLEM, apr_psprintf(ck->p, "http://%s/ (%s) "
                     "redirects to %s (%s), and this server does not listen "
                     "on port %u: the checker must reach the first "
                     "redirect's page; redirect to port 443 (HSTSRedirect "
                     "without port=)", domain, who, ans.url, ans.by,
                     (unsigned)u.port));
        return;
    }
    t = hsts_server_for(ck, s, domain, &u, 1);
    if (t && !hsts_is_tls(ck, t)) {
        hsts_finding(ck, s, rule, "preload-redirect-unreachable",
                     HSTS_PROBLEM, apr_psprintf(ck->p, "http://%s/ (%s) "
                     "redirects to %s (%s), which %s answers without TLS: "
                     "the checker must reach the first redirect's page "
                     "over https", domain, who, ans.url, ans.by,
                     hsts_server_label(ck->p, t)));
        return;
    }
    /* the checker reports this only when https://D/ itself passes */
    if (t && t != s && header_ok && !hsts_preloadable(t)) {
        hsts_finding(ck, s, rule, "preload-redirect-no-hsts", HSTS_PROBLEM,
                     apr_psprintf(ck->p, "http://%s/ (%s) redirects to %s "
                                  "(%s), answered by %s, whose policy is "
                                  "not preloadable: the first redirect's "
                                  "page must send the preload header",
                                  domain, who, ans.url, ans.by,
                                  hsts_server_label(ck->p, t)));
        return;
    }
    hsts_follow(ck, s, rule, domain, &ans);
}

/* www.D: the checker connects to www.D:443 and, when that connects,
 * needs TLS with a valid certificate there.  Asked only where a plain
 * vhost here names www.D (so its DNS likely points here); whether a
 * certificate covers it is the certificate checks' business. */
static void hsts_check_www(hsts_check *ck, server_rec *s,
                           const hsts_rule *rule, const char *domain)
{
    const char *www = apr_pstrcat(ck->p, "www.", domain, NULL), *why;
    server_rec *plain = hsts_chain_named(ck->p, ck->preload->plain, www);
    server_rec *tls = hsts_chain_named(ck->p, ck->preload->tls, www);
    const char *served;
    apr_array_header_t *who;
    server_rec *t;
    int named;

    /* where no vhost names www, only DNS says whether the checker
     * connects to it here */
    if (!plain && !tls) {
        return;
    }
    served = plain ? apr_psprintf(ck->p, "%s is served here over plain "
                                  "HTTP (%s)", www,
                                  hsts_server_label(ck->p, plain))
                   : apr_psprintf(ck->p, "%s is served here (%s)", www,
                                  hsts_server_label(ck->p, tls));
    if (!hsts_port_get(ck, 443)->listens) {
        if (!tls) {
            hsts_finding(ck, s, rule, "preload-www-unverified", HSTS_HINT,
                         apr_psprintf(ck->p, "%s, no TLS vhost names it, "
                                      "and this server does not listen on "
                                      "port 443: not verified: that %s:443 "
                                      "answers TLS with a valid "
                                      "certificate, as the checker needs",
                                      served, www));
        }
        return;
    }
    who = hsts_answerers(ck, 443, www, &named);
    t = APR_ARRAY_IDX(who, 0, server_rec *);
    if (who->nelts == 1) {
        /* the vhost that answers www on 443, by name or as the default,
         * as the checker's connection would reach it */
        if (!hsts_is_tls(ck, t)) {
            why = "without TLS";
        }
        else if ((why = hsts_lockout_serves(ck, t, www))) {
            why = apr_pstrcat(ck->p, "with a certificate the checker "
                              "refuses (", why, ")", NULL);
        }
        if (why) {
            hsts_finding(ck, s, rule, "preload-www-no-tls", HSTS_PROBLEM,
                         apr_psprintf(ck->p, "%s, and on port 443 %s "
                                      "answers it %s: the checker connects "
                                      "to %s:443 and needs TLS with a "
                                      "valid certificate there", served,
                                      hsts_server_label(ck->p, t), why,
                                      www));
        }
    }
    else if (!named) {
        hsts_finding(ck, s, rule, "preload-www-unverified", HSTS_HINT,
                     apr_psprintf(ck->p, "%s but no TLS vhost names it: on "
                                  "port 443 %s answers it with its own "
                                  "certificate; not verified: that this "
                                  "certificate covers %s, as the checker "
                                  "needs", served,
                                  hsts_server_label(ck->p, t), www));
    }
}

void hsts_preload_check(hsts_check *ck, server_rec *s, const hsts_rule *rule)
{
    hsts_finding_t findings[HSTS_FINDINGS_MAX];
    const char *domain = s->server_hostname;
    apr_pool_t *saved;
    apr_array_header_t *who;
    int n, i, named, header_ok = 1;

    n = hsts_preload_findings(&rule->policy, findings);
    for (i = 0; i < n; i++) {
        int level = findings[i].problem ? HSTS_PROBLEM : HSTS_HINT;

        header_ok &= !findings[i].problem;
        hsts_finding(ck, s, rule, findings[i].kind, level, findings[i].text);
    }
    if (!domain || !hsts_is_tls(ck, s)) {
        return;
    }
    if (!ck->preload) {
        hsts_index_make(ck);
        apr_pool_create(&ck->preload->scratch, ck->pool);
    }
    /* what one vhost's check needs is freed with it: at hosting scale the
     * check's pool lives through all of them */
    saved = ck->p;
    ck->p = ck->preload->scratch;
    if (!hsts_port_get(ck, 80)->listens) {
        hsts_finding(ck, s, rule, "preload-no-port-80", HSTS_HINT,
                     apr_psprintf(ck->p, "this server does not listen on "
                                  "port 80, where the checker fetches "
                                  "http://%s/: not verified: that whatever "
                                  "answers there (another server, a load "
                                  "balancer) redirects it to https://%s/ "
                                  "first", domain, domain));
    }
    else {
        who = hsts_answerers(ck, 80, domain, &named);
        for (i = 0; i < who->nelts; i++) {
            hsts_check_first(ck, s, rule, domain,
                             APR_ARRAY_IDX(who, i, server_rec *), header_ok);
        }
    }
    hsts_check_www(ck, s, rule, domain);
    apr_pool_clear(ck->p);
    ck->p = saved;
}
