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
 * checks (check_config, so `apachectl -t` shows them), where each
 * roll-out stands (post_config) and `apachectl -t -D DUMP_HSTS`
 * (test_config).  Nothing here runs per request.
 */

#include "mod_hsts_version.h"
#include "mod_hsts.h"

APLOG_USE_MODULE(hsts);

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

/* Which servers have TLS configured, as far as the config shows: one walk
 * of the config tree, the <VirtualHost> sections that say SSLEngine on
 * keyed by the file and line they start at (server_rec's defn_name and
 * defn_line_number), and whether it is said globally. */
typedef struct {
    apr_hash_t *vhosts;
    int global;
} hsts_tls_map;

static const char *hsts_tls_key(apr_pool_t *p, const char *file, int line)
{
    return apr_psprintf(p, "%s:%d", file, line);
}

static void hsts_tls_walk(apr_pool_t *p, const ap_directive_t *d,
                          apr_hash_t *vhosts)
{
    for (; d; d = d->next) {
        if (!strcasecmp(d->directive, "<VirtualHost")) {
            if (d->filename && hsts_tree_has_tls(d->first_child)) {
                apr_hash_set(vhosts, hsts_tls_key(p, d->filename,
                                                  d->line_num),
                             APR_HASH_KEY_STRING, "");
            }
        }
        else if (d->first_child) {
            hsts_tls_walk(p, d->first_child, vhosts);
        }
    }
}

static void hsts_tls_map_make(apr_pool_t *p, hsts_tls_map *m)
{
    m->vhosts = apr_hash_make(p);
    m->global = hsts_tree_has_tls(ap_conftree);
    hsts_tls_walk(p, ap_conftree, m->vhosts);
}

static int hsts_vhost_is_tls(apr_pool_t *p, const hsts_tls_map *m,
                             const server_rec *s)
{
    const char *key;

    if (m->global || !s->defn_name) {
        return m->global;
    }
    key = hsts_tls_key(p, s->defn_name, (int)s->defn_line_number);
    return apr_hash_get(m->vhosts, key, APR_HASH_KEY_STRING) != NULL;
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
    hsts_tls_map tls;
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

/* Per section of the main config: preload there is a domain-wide
 * commitment made from a path; off or a weaker policy does not really opt
 * the path out, since HSTS is host-wide in the browser. */
static void hsts_check_sections(hsts_check *ck,
                                const apr_array_header_t *sections)
{
    int i;

    for (i = 0; i < sections->nelts; i++) {
        const hsts_section *hs = &APR_ARRAY_IDX(sections, i, hsts_section);
        const hsts_rule *rule = hs->dc->rule;
        const hsts_rule *host = hsts_server_rule(hs->s);

        if (!rule) {
            continue;
        }
        if (host && host->header
            && (!rule->header
                || hsts_policy_weaker(&rule->policy, &host->policy))) {
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, hs->s, "HSTSPolicy "
                         "%s in %s at %s:%d, under %s which sends \"%s\": "
                         "HSTS is host-wide in the browser, so this path "
                         "does not really opt out; a browser that got the "
                         "header anywhere on the host keeps using HTTPS "
                         "here", rule->header ? "weaker" : "off", hs->label,
                         rule->where.file, rule->where.line,
                         hsts_vhost_name(ck->p, hs->s), host->header);
        }
        if (ck->mode != HSTS_PRELOAD_OFF && rule->header
            && rule->policy.preload) {
            hsts_preload_say(ck, 1, apr_psprintf(ck->p, "%s, %s",
                             hsts_vhost_name(ck->p, hs->s), hs->label),
                             apr_psprintf(ck->p, "HSTSPolicy with preload "
                             "at %s:%d: preload commits the whole domain "
                             "and every subdomain, so it belongs in the "
                             "virtual host, not in a section for a path",
                             rule->where.file, rule->where.line));
        }
    }
}

static void hsts_check_vhost(hsts_check *ck, server_rec *s)
{
    const hsts_rule *rule = hsts_server_rule(s);
    const char *where = hsts_vhost_name(ck->p, s);
    hsts_finding_t findings[HSTS_FINDINGS_MAX];
    server_rec *t;
    int twin = 0, redirect = 0, n, i;

    if (!rule || !rule->header || !rule->policy.preload) {
        return;
    }
    where = apr_psprintf(ck->p, "%s, HSTSPolicy at %s:%d", where,
                         rule->where.file, rule->where.line);
    n = hsts_preload_findings(&rule->policy, findings);
    for (i = 0; i < n; i++) {
        hsts_preload_say(ck, findings[i].problem, where, findings[i].text);
    }
    if (!s->server_hostname || !hsts_vhost_is_tls(ck->p, &ck->tls, s)) {
        return;
    }
    for (t = ck->main; t; t = t->next) {
        const hsts_dir_conf *dc;

        if (t == s || !hsts_names_match(t, s->server_hostname)
            || hsts_vhost_is_tls(ck->p, &ck->tls, t)) {
            continue;
        }
        twin = 1;
        dc = ap_get_module_config(t->lookup_defaults, &hsts_module);
        redirect |= dc && dc->redirect && dc->redirect->args.on;
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

static int hsts_dir_conf_reach(const hsts_dir_conf *dc)
{
    return !dc ? 0 : (dc->rule ? HSTS_REACH_POLICY : 0)
                     | (dc->redirect ? HSTS_REACH_REDIRECT : 0);
}

/* What can ever apply: HSTSPolicy and HSTSRedirect said somewhere in the
 * configuration, or allowed in .htaccess files by some <Directory>
 * (AllowOverride FileInfo or All, or AllowOverrideList naming them). */
static int hsts_reachable(const apr_array_header_t *sections,
                          server_rec *main)
{
    server_rec *s;
    int i, reach = 0;

    for (i = 0; i < sections->nelts; i++) {
        reach |= hsts_dir_conf_reach(
            APR_ARRAY_IDX(sections, i, hsts_section).dc);
    }
    for (s = main; s; s = s->next) {
        core_server_config *core = ap_get_core_module_config(
            s->module_config);
        ap_conf_vector_t **dirs = (ap_conf_vector_t **)core->sec_dir->elts;

        reach |= hsts_dir_conf_reach(ap_get_module_config(s->lookup_defaults,
                                                          &hsts_module));
        for (i = 0; i < core->sec_dir->nelts; i++) {
            const core_dir_config *cd = ap_get_core_module_config(dirs[i]);

            if (cd->override & OR_FILEINFO) {
                return HSTS_REACH_POLICY | HSTS_REACH_REDIRECT;
            }
            if (cd->override_list) {
                reach |= (apr_table_get(cd->override_list, "HSTSPolicy")
                          ? HSTS_REACH_POLICY : 0)
                         | (apr_table_get(cd->override_list, "HSTSRedirect")
                            ? HSTS_REACH_REDIRECT : 0);
            }
        }
    }
    return reach;
}

int hsts_check_config(apr_pool_t *ptemp, server_rec *s, int *reach)
{
    const hsts_srv_conf *sconf = ap_get_module_config(s->module_config,
                                                      &hsts_module);
    const apr_array_header_t *sections = hsts_collect_sections(ptemp, s);
    hsts_check ck;
    server_rec *v;

    *reach = hsts_reachable(sections, s);
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
    hsts_tls_map_make(ptemp, &ck.tls);
    hsts_check_sections(&ck, sections);
    for (v = s; ck.mode != HSTS_PRELOAD_OFF && v; v = v->next) {
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

/* "source":...,"file":...,"line":... of a directive */
static const char *hsts_json_where(apr_pool_t *p, const hsts_where *w)
{
    return apr_psprintf(p, "\"source\":%s,\"file\":%s,\"line\":%d",
                        hsts_json(p, w->source), hsts_json(p, w->file),
                        w->line);
}

static const char *hsts_json_policy(apr_pool_t *p, const hsts_rule *rule)
{
    if (!rule) {
        return "{\"state\":\"unset\",\"header\":null,\"source\":null}";
    }
    if (!rule->header) {
        return apr_psprintf(p, "{\"state\":\"off\",\"header\":null,%s}",
                            hsts_json_where(p, &rule->where));
    }
    return apr_psprintf(p, "{\"state\":\"on\",\"max_age\":%lu,"
                        "\"include_subdomains\":%s,\"preload\":%s,"
                        "\"header\":%s,%s}", rule->policy.max_age,
                        hsts_json_bool(rule->policy.include_subdomains),
                        hsts_json_bool(rule->policy.preload),
                        hsts_json(p, rule->header),
                        hsts_json_where(p, &rule->where));
}

static const char *hsts_json_redirect(apr_pool_t *p, const hsts_redirect *rd)
{
    if (!rd) {
        return "{\"on\":false,\"source\":null}";
    }
    return apr_psprintf(p, "{\"on\":%s,\"status\":%s,\"port\":%d,"
                        "\"source\":%s}", hsts_json_bool(rd->args.on),
                        rd->args.status ? apr_itoa(p, rd->args.status)
                                        : "null",
                        rd->args.port ? rd->args.port : 443,
                        hsts_json(p, rd->where.source));
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
                        hsts_json(p, lim->text),
                        hsts_json(p, lim->where.source));
}

static const char *hsts_json_rollout(apr_pool_t *p, const hsts_rollout *ro,
                                     const hsts_rule *rule, long long now)
{
    const char *state, *header, *next = "null", *ladder = "";
    int k, at, i;

    if (!ro) {
        return "null";
    }
    for (i = 0; i < ro->ro.rungs; i++) {
        ladder = apr_psprintf(p, "%s%s%lu", ladder, i ? "," : "",
                              ro->ro.ladder[i]);
    }
    k = hsts_rollout_rung(&ro->ro, now);
    at = rule && rule->header ? hsts_rollout_state(&ro->ro, now,
                                                   rule->policy.max_age)
                              : ro->ro.rungs;
    if (at < 0) {
        state = "pending";
        header = NULL;
        next = hsts_json(p, hsts_day(p, ro->ro.start));
    }
    else if (at == ro->ro.rungs) {
        state = "complete";
        header = rule ? rule->header : NULL;
    }
    else {
        state = "ramping";
        header = ro->headers[at];
        next = hsts_json(p, hsts_day(p, hsts_rollout_begins(&ro->ro,
                                                            at + 1)));
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
                        hsts_json(p, ro->where.source));
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
void hsts_test_config(apr_pool_t *p, server_rec *main)
{
    apr_array_header_t *sections;
    apr_file_t *out;
    hsts_tls_map tls;
    long long now = apr_time_sec(apr_time_now());
    server_rec *s;
    int i;

    if (!ap_exists_config_define("DUMP_HSTS")
        || apr_file_open_stdout(&out, p) != APR_SUCCESS) {
        return;
    }
    hsts_tls_map_make(p, &tls);
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
        apr_file_printf(out, "{\"type\":\"vhost\",%s\"server_name\":%s,"
                        "\"aliases\":[%s],\"addresses\":[%s],"
                        "\"file\":%s,\"line\":%u,\"main_server\":%s,"
                        "\"tls\":%s,\"policy\":%s,\"upstream\":\"%s\","
                        "\"redirect\":%s,\"override_limits\":%s,"
                        "\"rollout\":%s}\n",
                        s == main ? "\"version\":\"" MOD_HSTS_VERSION "\","
                                  : "",
                        hsts_json(p, s->server_hostname), aliases, addrs,
                        hsts_json(p, s->defn_name), s->defn_line_number,
                        hsts_json_bool(!s->defn_name),
                        hsts_json_bool(hsts_vhost_is_tls(p, &tls, s)),
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
                        hsts_json(p, rule ? rule->where.file : rd->where.file),
                        rule ? rule->where.line : rd->where.line,
                        hsts_json_vhost_ref(p, hs->s),
                        hsts_json_policy(p, rule),
                        rd ? hsts_json_redirect(p, rd) : "null");
    }
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

/* Work out each server's name_exempt, and say where each vhost's roll-out
 * stands, once the logs are open. */
int hsts_post_config(apr_pool_t *pconf, apr_pool_t *plog,
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
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, v, "HSTSRollout "
                         "(%s) in %s has no HSTSPolicy to roll out to",
                         ro->where.source, hsts_vhost_name(ptemp, v));
            continue;
        }
        k = hsts_rollout_state(&ro->ro, now, rule->policy.max_age);
        if (k < 0) {
            ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, v, "HSTSRollout %s: "
                         "starts %s with %s; no header until then",
                         hsts_vhost_name(ptemp, v),
                         hsts_day(ptemp, ro->ro.start), ro->headers[0]);
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
                         ro->headers[k], hsts_day(ptemp, until),
                         then == ro->ro.rungs ? rule->header
                                              : ro->headers[then] + 8);
        }
    }
    return OK;
}
