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
 * mod_hsts' directives and how their records merge: each value parsed,
 * validated and formatted once, when the configuration is read (the
 * parsing itself is in src/hsts_policy.c, src/hsts_rollout.c and
 * src/hsts_url.c); a handler returns an error string naming the
 * directive and the bad token, and never logs.  Every field has an
 * explicit unset state; a merge makes a new record, one line a field,
 * and defaults are applied where values are read.  A directive that the
 * request path serves asks for its hooks with hsts_need() (mod_hsts.c).
 */

#include "httpd.h"
#include "http_config.h"
#include "http_core.h"
#include "apr_lib.h"
#include "apr_strings.h"

#include "mod_hsts.h"
#include "hsts_url.h"

void *hsts_create_dir_conf(apr_pool_t *p, char *dir)
{
    hsts_dir_conf *conf = apr_palloc(p, sizeof(*conf));

    (void)dir;
    conf->rule = NULL;
    conf->upstream = HSTS_UNSET;
    conf->redirect = NULL;
    return conf;
}

/* The nearest rule wins, except an "off" (or a max-age=0) that
 * HSTSOverrideLimits denied: the inherited policy goes on, carrying the
 * note that it was clamped. */
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

void *hsts_merge_dir_conf(apr_pool_t *p, void *basev, void *addv)
{
    const hsts_dir_conf *base = basev, *add = addv;
    hsts_dir_conf *conf = apr_palloc(p, sizeof(*conf));

    conf->rule = hsts_merge_rule(p, base->rule, add->rule);
    conf->upstream = add->upstream != HSTS_UNSET ? add->upstream
                                                 : base->upstream;
    conf->redirect = add->redirect ? add->redirect : base->redirect;
    return conf;
}

void *hsts_create_srv_conf(apr_pool_t *p, server_rec *s)
{
    hsts_srv_conf *conf = apr_palloc(p, sizeof(*conf));

    (void)s;
    conf->rollout = NULL;
    conf->limits = NULL;
    conf->preload_check = HSTS_UNSET;
    conf->lockout = NULL;
    conf->name_exempt = HSTS_UNSET;
    conf->names_never_exempt = 0;
    return conf;
}

void *hsts_merge_srv_conf(apr_pool_t *p, void *basev, void *addv)
{
    const hsts_srv_conf *base = basev, *add = addv;
    hsts_srv_conf *conf = apr_palloc(p, sizeof(*conf));

    conf->rollout = add->rollout ? add->rollout : base->rollout;
    conf->limits = add->limits ? add->limits : base->limits;
    conf->preload_check = add->preload_check != HSTS_UNSET
                          ? add->preload_check : base->preload_check;
    conf->lockout = add->lockout ? add->lockout : base->lockout;
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
static int hsts_is_conditional(const char *section)
{
    return !ap_cstr_casecmp(section, "<IfModule")
           || !ap_cstr_casecmp(section, "<IfDefine")
           || !ap_cstr_casecmp(section, "<IfVersion")
           || !ap_cstr_casecmp(section, "<IfFile")
           || !ap_cstr_casecmp(section, "<IfDirective")
           || !ap_cstr_casecmp(section, "<IfSection");
}

static void hsts_cmd_where(cmd_parms *cmd, hsts_where *where)
{
    const ap_directive_t *d = cmd->directive, *sec;
    const char *at;

    where->file = d ? d->filename : NULL;
    where->line = d ? d->line_num : 0;
    if (!where->file) {
        where->source = "the command line";
        return;
    }
    at = apr_pstrcat(cmd->pool, d->filename, ":",
                     apr_itoa(cmd->temp_pool, d->line_num), NULL);
    if (hsts_cmd_in_htaccess(cmd)) {
        where->source = at;
        return;
    }
    for (sec = d->parent; sec && hsts_is_conditional(sec->directive);
         sec = sec->parent) {
        continue;
    }
    where->source = sec ? apr_pstrcat(cmd->pool, sec->directive, " ",
                                      sec->args, " at ", at, NULL)
                        : apr_pstrcat(cmd->pool, "server config at ", at,
                                      NULL);
}

/* Hosting configurations say the same HSTSPolicy in thousands of virtual
 * hosts: each value of the main configuration is parsed and formatted
 * once per reading of it (the cache goes with that reading's pool). */
typedef struct {
    hsts_policy_t policy;
    const char *header;
} hsts_parsed;

static apr_hash_t *hsts_parsed_cache;

static apr_status_t hsts_parsed_cache_clear(void *data)
{
    (void)data;
    hsts_parsed_cache = NULL;
    return APR_SUCCESS;
}

/* The policy and canonical header for `value`, or NULL with a message in
 * err. */
static const hsts_parsed *hsts_parse(cmd_parms *cmd, const char *value,
                                     char *err, apr_size_t errlen)
{
    hsts_parsed *parsed = NULL;
    char header[HSTS_HEADER_MAX];
    int cached = !hsts_cmd_in_htaccess(cmd);

    if (cached && hsts_parsed_cache) {
        parsed = apr_hash_get(hsts_parsed_cache, value, APR_HASH_KEY_STRING);
    }
    if (parsed) {
        return parsed;
    }
    parsed = apr_palloc(cmd->pool, sizeof(*parsed));
    if (hsts_policy_parse(value, &parsed->policy, err, errlen) != 0) {
        return NULL;
    }
    hsts_policy_format(&parsed->policy, header, sizeof(header));
    parsed->header = apr_pstrdup(cmd->pool, header);
    if (cached) {
        if (!hsts_parsed_cache) {
            hsts_parsed_cache = apr_hash_make(cmd->pool);
            apr_pool_cleanup_register(cmd->pool, NULL,
                                      hsts_parsed_cache_clear,
                                      apr_pool_cleanup_null);
        }
        apr_hash_set(hsts_parsed_cache, apr_pstrdup(cmd->pool, value),
                     APR_HASH_KEY_STRING, parsed);
    }
    return parsed;
}

/* A tenant's .htaccess policy outside the vhost's HSTSOverrideLimits is
 * clamped, never refused: a refusal would take the directory down.  What
 * changed is logged when a response first carries it.  max-age=0 makes
 * browsers forget the host, which is more than "off": off=deny refuses
 * it too. */
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
    if (off || (rule->policy.max_age == 0 && lim->limits.deny_off)) {
        if (lim->limits.deny_off) {
            rule->inherit = 1;
            rule->clamped = apr_psprintf(cmd->pool, "HSTSPolicy in %s "
                                         "asked for \"%s\", ignored: "
                                         "HSTSOverrideLimits %s (%s)",
                                         rule->where.source, asked,
                                         lim->text, lim->where.source);
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

/* Nothing here is per method: inside <Limit> a directive would apply to
 * every method all the same, so it is refused, as httpd refuses its own
 * such directives there. */
static const char *hsts_cmd_context(cmd_parms *cmd, unsigned forbidden)
{
    return ap_check_cmd_context(cmd, NOT_IN_LIMIT | forbidden);
}

static const char *hsts_cmd_policy(cmd_parms *cmd, void *mconfig,
                                   const char *args)
{
    hsts_dir_conf *conf = mconfig;
    hsts_rule *rule;
    const hsts_parsed *parsed = NULL;
    const char *value = args;
    const char *err_ctx = hsts_cmd_context(cmd, 0);
    char err[HSTS_ERR_MAX];
    char header[HSTS_HEADER_MAX];
    int off;

    if (err_ctx) {
        return err_ctx;
    }

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

    off = !ap_cstr_casecmp(value, "off");
    if (!off && !(parsed = hsts_parse(cmd, value, err, sizeof(err)))) {
        return apr_psprintf(cmd->pool, "%s: %s", cmd->cmd->name, err);
    }
    rule = apr_pcalloc(cmd->pool, sizeof(*rule));
    hsts_cmd_where(cmd, &rule->where);
    if (parsed) {
        rule->policy = parsed->policy;
        rule->header = parsed->header;
    }
    if (hsts_cmd_in_htaccess(cmd)) {
        hsts_apply_limits(cmd, rule, value, off);
    }
    else {
        hsts_need(HSTS_NEED_POLICY);
    }
    if (rule->inherit) {
        rule->header = NULL;
    }
    else if (rule->clamped && !off) {
        /* the limits changed the policy: its own header */
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
    const char *err = hsts_cmd_context(cmd, 0);

    if (err) {
        return err;
    }
    if (!ap_cstr_casecmp(arg, "replace")) {
        conf->upstream = HSTS_UPSTREAM_REPLACE;
    }
    else if (!ap_cstr_casecmp(arg, "keep")) {
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
    const char *err_ctx = hsts_cmd_context(cmd, 0);
    char err[HSTS_ERR_MAX];

    if (err_ctx) {
        return err_ctx;
    }
    if (hsts_redirect_parse((const char *const *)argv, argc, &rd->args,
                            err, sizeof(err)) != 0) {
        return apr_psprintf(cmd->pool, "%s: %s", cmd->cmd->name, err);
    }
    hsts_cmd_where(cmd, &rd->where);
    if (!hsts_cmd_in_htaccess(cmd)) {
        hsts_need(HSTS_NEED_REDIRECT);
    }
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
    hsts_need(HSTS_NEED_LIMITS);
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
    if (!ap_cstr_casecmp(arg, "off")) {
        conf->preload_check = HSTS_PRELOAD_OFF;
    }
    else if (!ap_cstr_casecmp(arg, "warn")) {
        conf->preload_check = HSTS_PRELOAD_WARN;
    }
    else if (!ap_cstr_casecmp(arg, "strict")) {
        conf->preload_check = HSTS_PRELOAD_STRICT;
    }
    else {
        return apr_psprintf(cmd->pool, "%s: unknown value '%s' (expected "
                            "off, warn or strict)", cmd->cmd->name, arg);
    }
    return NULL;
}

static const char *hsts_cmd_lockout_check(cmd_parms *cmd, void *mconfig,
                                          int argc, char *const argv[])
{
    hsts_srv_conf *conf = ap_get_module_config(cmd->server->module_config,
                                               &hsts_module);
    hsts_lockout_conf *lc = apr_pcalloc(cmd->pool, sizeof(*lc));
    const char *err = ap_check_cmd_context(cmd, GLOBAL_ONLY);
    apr_finfo_t fi;
    int i;

    (void)mconfig;
    if (err) {
        return err;
    }
    if (argc < 1) {
        return apr_psprintf(cmd->pool, "%s: off, warn or strict expected",
                            cmd->cmd->name);
    }
    lc->mode = !ap_cstr_casecmp(argv[0], "off") ? HSTS_PRELOAD_OFF
               : !ap_cstr_casecmp(argv[0], "warn") ? HSTS_PRELOAD_WARN
               : !ap_cstr_casecmp(argv[0], "strict") ? HSTS_PRELOAD_STRICT
               : HSTS_UNSET;
    if (lc->mode == HSTS_UNSET) {
        return apr_psprintf(cmd->pool, "%s: unknown value '%s' (expected "
                            "off, warn or strict)", cmd->cmd->name, argv[0]);
    }
    lc->expiry_days = HSTS_UNSET;
    for (i = 1; i < argc; i++) {
        const char *a = argv[i];

        if ((!ap_cstr_casecmpn(a, "ca=", 3) && lc->ca)
            || (!ap_cstr_casecmpn(a, "expiry=", 7)
                && lc->expiry_days != HSTS_UNSET)) {
            return apr_psprintf(cmd->pool, "%s: repeated '%s' (%.*s given "
                                "more than once)", cmd->cmd->name, a,
                                (int)(strchr(a, '=') - a + 1), a);
        }
        if (!ap_cstr_casecmpn(a, "ca=", 3) && a[3]) {
            lc->ca = ap_server_root_relative(cmd->pool, a + 3);
            if (!lc->ca || apr_stat(&fi, lc->ca, APR_FINFO_TYPE,
                                    cmd->temp_pool) != APR_SUCCESS
                || fi.filetype != APR_REG) {
                return apr_psprintf(cmd->pool, "%s: '%s': no such file",
                                    cmd->cmd->name, a);
            }
        }
        else if (!ap_cstr_casecmpn(a, "expiry=", 7) && a[7]
                 && strspn(a + 7, "0123456789") == strlen(a + 7)
                 && strlen(a + 7) <= 4) {
            lc->expiry_days = atoi(a + 7);
        }
        else {
            return apr_psprintf(cmd->pool, "%s: unknown argument '%s' "
                                "(expected ca=FILE or expiry=DAYS, 0 to "
                                "9999)", cmd->cmd->name, a);
        }
    }
    conf->lockout = lc;
    return NULL;
}

const command_rec hsts_cmds[] = {
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
    AP_INIT_TAKE_ARGV("HSTSLockoutCheck", hsts_cmd_lockout_check, NULL,
                      RSRC_CONF, "off|warn|strict [ca=FILE] [expiry=DAYS]: "
                      "check at startup that every name a policy pins has "
                      "a valid certificate"),
    { NULL }
};
