/* Unit tests for the httpd-free logic (src/hsts_policy.c,
 * src/hsts_rollout.c, src/hsts_url.c, src/hsts_json.c).  Prints one line per failure and a
 * closing "N passed, N failed" line. */

#include <stdio.h>
#include <string.h>

#include "hsts_json.h"
#include "hsts_policy.h"
#include "hsts_rollout.h"
#include "hsts_url.h"

static int passed, failed;

static void check(int ok, const char *what, const char *detail)
{
    if (ok) {
        passed++;
    }
    else {
        failed++;
        printf("FAIL: %s%s%s\n", what, detail ? ": " : "",
               detail ? detail : "");
    }
}

/* The value parses and formats to exactly `want`. */
static void accepts(const char *in, const char *want)
{
    hsts_policy_t p;
    char err[HSTS_ERR_MAX], out[HSTS_HEADER_MAX];
    char what[300];

    snprintf(what, sizeof(what), "accepts [%s]", in);
    if (hsts_policy_parse(in, &p, err, sizeof(err)) != 0) {
        check(0, what, err);
        return;
    }
    hsts_policy_format(&p, out, sizeof(out));
    snprintf(what, sizeof(what), "[%s] formats as [%s], got [%s]",
             in, want, out);
    check(strcmp(out, want) == 0, what, NULL);
}

/* The value is rejected with a message containing `needle`. */
static void rejects(const char *in, const char *needle)
{
    hsts_policy_t p;
    char err[HSTS_ERR_MAX];
    char what[400];
    int rc = hsts_policy_parse(in, &p, err, sizeof(err));

    snprintf(what, sizeof(what), "rejects [%s] with '%s', got rc=%d [%s]",
             in, needle, rc, rc ? err : "");
    check(rc != 0 && strstr(err, needle) != NULL, what, NULL);
}

static void exempt(const char *host, int want)
{
    char what[200];

    snprintf(what, sizeof(what), "host [%s] exempt=%d", host, want);
    check(!hsts_host_is_exempt(host) == !want, what, NULL);
}

static void never_exempt(const char *name, int want)
{
    char what[200];

    snprintf(what, sizeof(what), "name [%s] never exempt=%d", name, want);
    check(!hsts_name_never_exempt(name) == !want, what, NULL);
}

static int rollout(const char *a1, const char *a2, const char *a3,
                   hsts_rollout_t *ro, char *err)
{
    const char *args[3];
    int n = 0;

    if (a1) {
        args[n++] = a1;
    }
    if (a2) {
        args[n++] = a2;
    }
    if (a3) {
        args[n++] = a3;
    }
    return hsts_rollout_parse(args, n, ro, err, HSTS_ERR_MAX);
}

static void rollout_rejects(const char *a1, const char *a2, const char *a3,
                            const char *needle)
{
    hsts_rollout_t ro;
    char err[HSTS_ERR_MAX], what[300];
    int rc = rollout(a1, a2, a3, &ro, err);

    snprintf(what, sizeof(what), "rollout rejects [%s %s %s] with '%s', "
             "got rc=%d [%s]", a1 ? a1 : "", a2 ? a2 : "", a3 ? a3 : "",
             needle, rc, rc ? err : "");
    check(rc != 0 && strstr(err, needle) != NULL, what, NULL);
}

/* -- the JSON writer ---------------------------------------------------- */

typedef struct {
    char buf[512];
    size_t len;
    size_t fail_after;          /* a sink that fails past this: 0 never */
} json_buf;

static int json_sink(void *baton, const char *data, size_t len)
{
    json_buf *b = baton;

    if (b->fail_after && b->len + len > b->fail_after) {
        return -1;
    }
    if (b->len + len >= sizeof(b->buf)) {
        return -1;
    }
    memcpy(b->buf + b->len, data, len);
    b->len += len;
    b->buf[b->len] = '\0';
    return 0;
}

static void json_is(const json_buf *b, const char *want, const char *what)
{
    char detail[1200];

    snprintf(detail, sizeof(detail), "want [%s], got [%s]", want, b->buf);
    check(!strcmp(b->buf, want), what, detail);
}

static void test_json(void)
{
    hsts_json j;
    json_buf b;

    /* commas come by themselves, at every depth */
    memset(&b, 0, sizeof(b));
    hsts_json_init(&j, json_sink, &b);
    hsts_json_object(&j);
    hsts_json_kstr(&j, "a", "x");
    hsts_json_kint(&j, "n", -12);
    hsts_json_key(&j, "list");
    hsts_json_array(&j);
    hsts_json_int(&j, 1);
    hsts_json_object(&j);
    hsts_json_end(&j);
    hsts_json_array(&j);
    hsts_json_end(&j);
    hsts_json_null(&j);
    hsts_json_end(&j);
    hsts_json_kbool(&j, "t", 1);
    hsts_json_kbool(&j, "f", 0);
    hsts_json_kstr(&j, "none", NULL);
    hsts_json_key(&j, "empty");
    hsts_json_object(&j);
    hsts_json_end(&j);
    hsts_json_end(&j);
    hsts_json_newline(&j);
    json_is(&b, "{\"a\":\"x\",\"n\":-12,\"list\":[1,{},[],null],\"t\":true,"
            "\"f\":false,\"none\":null,\"empty\":{}}\n", "json nesting");

    /* JSON lines: a second top-level value starts afresh */
    hsts_json_object(&j);
    hsts_json_kint(&j, "b", 2);
    hsts_json_end(&j);
    hsts_json_newline(&j);
    check(!strcmp(b.buf + strlen(b.buf) - 8, "{\"b\":2}\n"), "json lines",
          b.buf);

    /* escaping: quotes, backslash, controls, DEL, bytes that are no
     * UTF-8; valid UTF-8 as it is */
    memset(&b, 0, sizeof(b));
    hsts_json_init(&j, json_sink, &b);
    hsts_json_str(&j, "q\"b\\c\n\t\x01\x7f \xe9t\xc3\xa9 \xf0\x9f\x94\x92");
    json_is(&b, "\"q\\\"b\\\\c\\u000a\\u0009\\u0001\\u007f \\u00e9t\xc3\xa9 "
            "\xf0\x9f\x94\x92\"", "json escaping");

    /* a failing sink: nothing more is written, and it is said */
    memset(&b, 0, sizeof(b));
    b.fail_after = 5;
    hsts_json_init(&j, json_sink, &b);
    hsts_json_object(&j);
    hsts_json_kstr(&j, "long", "value");
    hsts_json_kint(&j, "n", 1);
    hsts_json_end(&j);
    check(j.failed == 1, "json failed sink flagged", NULL);
    json_is(&b, "{\"", "json stops after a failed write");
}

static void test_rollout(void)
{
    hsts_rollout_t ro;
    char err[HSTS_ERR_MAX];
    long long day = 86400, start;

    check(hsts_days_from_civil(1970, 1, 1) == 0, "epoch", NULL);
    check(hsts_days_from_civil(2000, 3, 1) == 951868800LL, "2000-03-01",
          NULL);
    check(hsts_days_from_civil(2026, 11, 23) == 1795392000LL, "2026-11-23",
          NULL);

    check(rollout("start=2026-11-23", NULL, NULL, &ro, err) == 0,
          "defaults parse", err);
    check(ro.step == 7 * day && ro.rungs == 4 && ro.ladder[0] == 300
          && ro.ladder[3] == 31536000, "defaults", NULL);
    start = ro.start;
    check(hsts_rollout_state(&ro, start - 1, 31536000) == -1,
          "state: pending", NULL);
    check(hsts_rollout_state(&ro, start + 8 * day, 31536000) == 1,
          "state: rung 1 while below the target", NULL);
    check(hsts_rollout_state(&ro, start + 8 * day, 600000) == 4,
          "state: done once the rung reaches the target", NULL);
    check(hsts_rollout_state(&ro, start + 21 * day, 31536000) == 4,
          "state: done on the rung equal to the target", NULL);
    check(hsts_rollout_state(&ro, start + 22 * day, 63072000) == 3,
          "state: last rung still below a longer target", NULL);
    check(hsts_rollout_state(&ro, start, 0) == 4,
          "state: max-age=0 goes out at once", NULL);
    check(hsts_rollout_state(&ro, start - 30 * day, 0) == 4,
          "state: max-age=0 goes out before the start too", NULL);
    check(hsts_rollout_begins(&ro, 2) == start + 14 * day
          && hsts_rollout_begins(&ro, 4) == start + 28 * day,
          "rung boundaries", NULL);
    check(hsts_rollout_rung(&ro, start - 1) == -1, "before start", NULL);
    check(hsts_rollout_rung(&ro, start) == 0, "rung 0 at start", NULL);
    check(hsts_rollout_rung(&ro, start + 7 * day - 1) == 0, "rung 0 end",
          NULL);
    check(hsts_rollout_rung(&ro, start + 7 * day) == 1, "rung 1", NULL);
    check(hsts_rollout_rung(&ro, start + 27 * day) == 3, "rung 3", NULL);
    check(hsts_rollout_rung(&ro, start + 28 * day) == 4, "after last",
          NULL);
    check(hsts_rollout_rung(&ro, start + 9999 * day) == 4, "long after",
          NULL);

    check(rollout("ladder=60,3600", "step=90m", "start=2024-02-29", &ro,
                  err) == 0, "any order, leap day", err);
    check(ro.step == 5400 && ro.rungs == 2 && ro.ladder[1] == 3600,
          "custom step and ladder", NULL);
    check(rollout("start=2026-01-01", "step=2w", NULL, &ro, err) == 0
          && ro.step == 14 * day, "weeks", err);
    check(rollout("start=2026-01-01", "step=45s", NULL, &ro, err) == 0
          && ro.step == 45, "seconds", err);
    check(rollout("start=2026-01-01", "step=3600", NULL, &ro, err) == 0
          && ro.step == 3600, "bare seconds", err);

    rollout_rejects(NULL, NULL, NULL, "start=YYYY-MM-DD is required");
    rollout_rejects("step=7d", NULL, NULL, "start=YYYY-MM-DD is required");
    rollout_rejects("start=2026-13-01", NULL, NULL, "not a valid date");
    rollout_rejects("start=2025-02-29", NULL, NULL, "not a valid date");
    rollout_rejects("start=2026-1-1", NULL, NULL, "not YYYY-MM-DD");
    rollout_rejects("start=tomorrow", NULL, NULL, "'tomorrow' is not");
    rollout_rejects("start=2026-01-01", "step=7x", NULL, "not a duration");
    rollout_rejects("start=2026-01-01", "step=0d", NULL, "more than 0");
    rollout_rejects("start=2026-01-01", "step=", NULL, "not a duration");
    rollout_rejects("start=2026-01-01", "step=9999d", NULL, "at most");
    rollout_rejects("start=2026-01-01", "ladder=300,300", NULL,
                    "must ascend");
    rollout_rejects("start=2026-01-01", "ladder=600,300", NULL,
                    "must ascend: '300' after '600'");
    rollout_rejects("start=2026-01-01", "ladder=300,,600", NULL,
                    "ladder value '' is not");
    rollout_rejects("start=2026-01-01", "ladder=-1", NULL, "'-1' is not");
    rollout_rejects("start=2026-01-01", "ladder=2147483648", NULL,
                    "above the limit");
    rollout_rejects("start=2026-01-01", "ladder=1,2,3,4,5,6,7,8,9,10,11,"
                    "12,13,14,15,16,17", NULL, "more than 16 rungs");
    rollout_rejects("start=2026-01-01", "start=2026-01-02", NULL,
                    "start given twice");
    rollout_rejects("start=2026-01-01", "speed=1", NULL,
                    "unknown argument 'speed=1'");
}

static void limits_case(const char *a1, const char *a2, const char *in,
                        const char *want, const char *why_needle)
{
    const char *args[2];
    hsts_limits_t l;
    hsts_policy_t p;
    char err[HSTS_ERR_MAX], why[HSTS_ERR_MAX], out[HSTS_HEADER_MAX];
    char what[400];
    int n = 0, changed;

    if (a1) {
        args[n++] = a1;
    }
    if (a2) {
        args[n++] = a2;
    }
    snprintf(what, sizeof(what), "limits [%s %s] on [%s]", a1 ? a1 : "",
             a2 ? a2 : "", in);
    if (hsts_limits_parse(args, n, &l, err, sizeof(err)) != 0
        || hsts_policy_parse(in, &p, err, sizeof(err)) != 0) {
        check(0, what, err);
        return;
    }
    changed = hsts_limits_apply(&l, &p, why, sizeof(why));
    hsts_policy_format(&p, out, sizeof(out));
    snprintf(what, sizeof(what), "limits [%s %s] on [%s]: want [%s] (%s), "
             "got [%s] (%s)", a1 ? a1 : "", a2 ? a2 : "", in, want,
             why_needle ? why_needle : "unchanged", out, why);
    check(strcmp(out, want) == 0 && changed == (why_needle != NULL)
          && (!why_needle || strstr(why, why_needle)), what, NULL);
}

static void limits_rejects(const char *a1, const char *needle)
{
    hsts_limits_t l;
    char err[HSTS_ERR_MAX], what[300];
    int rc = hsts_limits_parse(&a1, a1 ? 1 : 0, &l, err, sizeof(err));

    snprintf(what, sizeof(what), "limits reject [%s] with '%s', got rc=%d "
             "[%s]", a1 ? a1 : "", needle, rc, rc ? err : "");
    check(rc != 0 && strstr(err, needle) != NULL, what, NULL);
}

static void test_limits(void)
{
    const char *args[4] = { "max-age=300..600", "includeSubDomains=deny",
                            "preload=DENY", "off=deny" };
    hsts_limits_t l;
    char err[HSTS_ERR_MAX], buf[200];

    limits_case("max-age=31536000..", NULL, "max-age=0",
                "max-age=31536000", "max-age 0 raised to 31536000");
    limits_case("max-age=31536000..", NULL, "max-age=63072000",
                "max-age=63072000", NULL);
    limits_case("max-age=..86400", NULL, "max-age=31536000; preload",
                "max-age=86400; preload", "lowered to 86400");
    limits_case("max-age=300..600", "includeSubDomains=deny",
                "max-age=450; includeSubDomains; preload",
                "max-age=450; preload", "includeSubDomains dropped");
    limits_case("preload=deny", "includeSubDomains=allow",
                "max-age=1; includeSubDomains; preload",
                "max-age=1; includeSubDomains", "preload dropped");
    limits_case("max-age=100..200", "preload=deny",
                "max-age=5; preload", "max-age=100",
                "max-age 5 raised to 100, preload dropped");

    check(hsts_limits_parse(args, 4, &l, err, sizeof(err)) == 0
          && l.min_age == 300 && l.max_age == 600 && l.deny_subdomains
          && l.deny_preload && l.deny_off, "limits all keys", err);
    hsts_limits_format(&l, buf, sizeof(buf));
    check(strcmp(buf, "max-age=300..600 includeSubDomains=deny "
                 "preload=deny off=deny") == 0, "limits format", buf);

    limits_rejects(NULL, "at least one limit");
    limits_rejects("max-age=300", "is not a range");
    limits_rejects("max-age=600..300", "MIN above MAX");
    limits_rejects("max-age=abc..", "'abc' is not a number");
    limits_rejects("max-age=..99999999999", "above the limit");
    limits_rejects("preload=maybe", "must be allow or deny");
    limits_rejects("subdomains=deny", "unknown limit 'subdomains=deny'");
    limits_rejects("off", "unknown limit 'off'");
}

static void test_redirect(void)
{
    const char *ok1[] = { "ON", "status=308", "port=8443" };
    const char *off[] = { "off" };
    const char *bad_status[] = { "on", "status=303" };
    const char *bad_port[] = { "on", "port=65536" };
    const char *with_off[] = { "off", "port=1" };
    const char *unknown[] = { "on", "code=301" };
    const char *two_status[] = { "on", "status=301", "status=307" };
    const char *two_port[] = { "on", "port=8443", "Port=443" };
    hsts_redirect_t rd;
    char err[HSTS_ERR_MAX];

    check(hsts_redirect_parse(ok1, 3, &rd, err, sizeof(err)) == 0
          && rd.on && rd.status == 308 && rd.port == 8443, "redirect on",
          err);
    check(hsts_redirect_parse(off, 1, &rd, err, sizeof(err)) == 0
          && !rd.on && !rd.status && !rd.port, "redirect off", err);
    check(hsts_redirect_parse(off, 0, &rd, err, sizeof(err)) != 0
          && strstr(err, "needs on or off"), "redirect no args", err);
    check(hsts_redirect_parse(bad_status, 2, &rd, err, sizeof(err)) != 0
          && strstr(err, "bad 'status=303'"), "redirect bad status", err);
    check(hsts_redirect_parse(bad_port, 2, &rd, err, sizeof(err)) != 0
          && strstr(err, "bad 'port=65536'"), "redirect bad port", err);
    check(hsts_redirect_parse(with_off, 2, &rd, err, sizeof(err)) != 0
          && strstr(err, "makes no sense with off"), "redirect off+arg",
          err);
    check(hsts_redirect_parse(unknown, 2, &rd, err, sizeof(err)) != 0
          && strstr(err, "unknown argument 'code=301'"), "redirect unknown",
          err);
    check(hsts_redirect_parse(two_status, 3, &rd, err, sizeof(err)) != 0
          && strstr(err, "repeated 'status=307'"), "redirect status twice",
          err);
    check(hsts_redirect_parse(two_port, 3, &rd, err, sizeof(err)) != 0
          && strstr(err, "repeated 'Port=443'"), "redirect port twice", err);
}

static void test_preload_and_weaker(void)
{
    hsts_policy_t p = { 31536000, 1, 1 };
    hsts_policy_t host = { 31536000, 1, 0 };
    hsts_finding_t f[HSTS_FINDINGS_MAX];
    int n;

    check(hsts_preload_findings(&p, f) == 0, "preload-ready: no findings",
          NULL);
    p.include_subdomains = 0;
    p.max_age = 300;
    n = hsts_preload_findings(&p, f);
    check(n == 2 && f[0].problem && f[1].problem
          && !strcmp(f[0].kind, "preload-include-subdomains")
          && !strcmp(f[1].kind, "preload-max-age-short")
          && strstr(f[0].text, "requires includeSubDomains")
          && strstr(f[1].text, "at least 31536000 (1 year), got 300"),
          "preload: two problems", n > 1 ? f[1].text : NULL);
    p.include_subdomains = 1;
    p.max_age = 0;
    n = hsts_preload_findings(&p, f);
    check(n == 1 && f[0].problem && strstr(f[0].text, "max-age=0")
          && !strcmp(f[0].kind, "preload-max-age-zero"),
          "preload: max-age=0", n ? f[0].text : NULL);
    /* the year is a minimum: one second short is a problem */
    p.max_age = 31535999;
    n = hsts_preload_findings(&p, f);
    check(n == 1 && f[0].problem
          && !strcmp(f[0].kind, "preload-max-age-short")
          && strstr(f[0].text, "got 31535999"),
          "preload: one second under a year", n ? f[0].text : NULL);
    /* ten years is the last quiet value */
    p.max_age = 315360000;
    check(hsts_preload_findings(&p, f) == 0, "preload: ten years exactly",
          NULL);
    p.max_age = 315360001;
    n = hsts_preload_findings(&p, f);
    check(n == 1 && !f[0].problem
          && !strcmp(f[0].kind, "preload-max-age-long"),
          "preload: one second over ten years", n ? f[0].text : NULL);
    p.max_age = 400000000;
    n = hsts_preload_findings(&p, f);
    check(n == 1 && !f[0].problem && strstr(f[0].text, "10 years")
          && !strcmp(f[0].kind, "preload-max-age-long"),
          "preload: ten years is a warning", n ? f[0].text : NULL);

    p.max_age = 31536000;
    p.include_subdomains = 1;
    check(!hsts_policy_weaker(&p, &host), "same or stronger", NULL);
    p.max_age = 300;
    check(hsts_policy_weaker(&p, &host), "shorter is weaker", NULL);
    p.max_age = 63072000;
    p.include_subdomains = 0;
    check(hsts_policy_weaker(&p, &host), "dropping subdomains is weaker",
          NULL);
}

static void url_case(const char *host, int port, const char *path,
                     const char *want)
{
    char buf[512], what[1200];
    size_t n = hsts_redirect_url(buf, sizeof(buf), host, port, path);

    snprintf(what, sizeof(what), "url [%s] %d [%s]: want [%s], got [%s] "
             "(%zu)", host, port, path, want ? want : "(refused)", buf, n);
    check(want ? n == strlen(want) && !strcmp(buf, want)
               : n == 0 && buf[0] == '\0', what, NULL);
}

static void host_valid(const char *host, int want)
{
    char what[600];

    snprintf(what, sizeof(what), "host [%s] valid=%d", host, want);
    check(!hsts_host_is_valid(host) == !want, what, NULL);
}

static void test_utf8(void)
{
    check(hsts_utf8_len("a") == 1, "utf8: ascii", NULL);
    check(hsts_utf8_len("") == 0, "utf8: end", NULL);
    check(hsts_utf8_len("\xc3\xa9") == 2, "utf8: e acute", NULL);
    check(hsts_utf8_len("\xe2\x82\xac") == 3, "utf8: euro", NULL);
    check(hsts_utf8_len("\xf0\x9f\x94\x92") == 4, "utf8: emoji", NULL);
    check(hsts_utf8_len("\xe9") == 0, "utf8: latin-1 byte", NULL);
    check(hsts_utf8_len("\xc3") == 0, "utf8: cut short", NULL);
    check(hsts_utf8_len("\xc0\xaf") == 0, "utf8: overlong", NULL);
    check(hsts_utf8_len("\xe0\x80\xaf") == 0, "utf8: overlong 3", NULL);
    check(hsts_utf8_len("\xed\xa0\x80") == 0, "utf8: surrogate", NULL);
    check(hsts_utf8_len("\xf4\x90\x80\x80") == 0, "utf8: above 10FFFF",
          NULL);
    check(hsts_utf8_len("\xff") == 0, "utf8: ff", NULL);
}

/* hsts_host_canon() turns `in` into `want` (NULL: refused). */
static void canon(const char *in, const char *want)
{
    char buf[HSTS_HOST_BUF], what[600];
    size_t n = hsts_host_canon(buf, sizeof(buf), in);

    snprintf(what, sizeof(what), "host canon [%.260s] gives [%s], got [%s]",
             in, want ? want : "(refused)", n ? buf : "(refused)");
    check(want ? n == strlen(want) && !strcmp(buf, want) : n == 0, what,
          NULL);
}

static void test_host_canon(void)
{
    char name[300], buf[HSTS_HOST_BUF];

    /* as httpd's fix_hostname: the final dot, the case and the port go */
    canon("off.other.test.", "off.other.test");
    canon("OFF.Other.Test.", "off.other.test");
    canon("off.other.test.:8443", "off.other.test");
    canon("Off.Other.Test:443", "off.other.test");
    canon("off.other.test", "off.other.test");
    canon("localhost.", "localhost");
    canon("a.", "a");
    /* one final dot only; no empty label */
    canon("off.other.test..", NULL);
    canon(".off.other.test", NULL);
    canon(".", NULL);
    canon("", NULL);
    canon(":443", NULL);
    /* the port as apr_parse_addr_port takes it */
    canon("h.test:", NULL);
    canon("h.test:0", NULL);
    canon("h.test:65536", NULL);
    canon("h.test:65535", "h.test");
    canon("h.test:44x", NULL);
    canon("h.test:443:1", NULL);
    /* not a host name */
    canon("evil?.h.test", NULL);
    canon("h.test/x", NULL);
    canon("h\\.test", NULL);
    /* IPv6 literals keep their brackets and lose their case */
    canon("[::1]:443", "[::1]");
    canon("[FE80::1]", "[fe80::1]");
    canon("[::1]x5", NULL);
    /* 253 bytes and a dot, with a port, fit the buffer; 254 do not */
    memset(name, 'a', 253);
    name[63] = name[127] = name[191] = '.';
    name[253] = '\0';
    strcat(name, ".:443");
    check(hsts_host_canon(buf, sizeof(buf), name) == 253
          && strlen(buf) == 253 && !memcmp(buf, name, 253),
          "host canon: 253 bytes and a dot", buf);
    memmove(name + 1, name, strlen(name) + 1);
    check(hsts_host_canon(buf, sizeof(buf), name) == 0,
          "host canon: 254 bytes refused", NULL);
}

static void test_url(void)
{
    char small[12], long_label[80], long_name[300];
    size_t n;
    int i;

    host_valid("example.com", 1);
    host_valid("Example.COM.", 1);
    host_valid("a-b_c.example", 1);
    host_valid("127.0.0.1", 1);
    host_valid("::1", 1);
    host_valid("[::1]", 1);
    host_valid("2001:db8::1", 1);
    host_valid("::ffff:10.0.0.1", 1);
    host_valid("", 0);
    host_valid(".", 0);
    host_valid(".example.com", 0);
    host_valid("a..b", 0);
    host_valid("evil.example?.example.test", 0);
    host_valid("x@evil.example.test", 0);
    host_valid("evil#.example.test", 0);
    host_valid("evil/.example.test", 0);
    host_valid("evil%2f.example.test", 0);
    host_valid("evil example", 0);
    host_valid("caf\xc3\xa9.example", 0);
    host_valid("a:b", 0);
    host_valid("[::1", 0);
    host_valid("[::1]x", 0);
    host_valid("1::2::3", 0);
    memset(long_label, 'a', 64);
    long_label[64] = '\0';
    host_valid(long_label, 0);
    long_label[63] = '\0';
    host_valid(long_label, 1);
    for (i = 0; i < 4; i++) {
        memcpy(long_name + i * 64, long_label, 63);
        long_name[i * 64 + 63] = '.';
    }
    long_name[253] = '\0';             /* 253 bytes, ends in 'a' */
    host_valid(long_name, 1);
    long_name[253] = 'a';
    long_name[254] = '\0';
    host_valid(long_name, 0);

    check(!strcmp(hsts_url_path("/a?b") ? hsts_url_path("/a?b") : "",
                  "/a?b"), "path: origin form", NULL);
    check(!strcmp(hsts_url_path("http://h:8/p?q") ? hsts_url_path(
                  "http://h:8/p?q") : "", "/p?q"), "path: absolute", NULL);
    check(!strcmp(hsts_url_path("HTTP://h?q") ? hsts_url_path("HTTP://h?q")
                  : "x", "?q"), "path: absolute, no path", NULL);
    check(!strcmp(hsts_url_path("http:/p?q") ? hsts_url_path("http:/p?q")
                  : "", "/p?q"), "path: scheme, no authority", NULL);
    check(hsts_url_path("http:p") == NULL, "path: scheme, relative", NULL);
    check(hsts_host_len("h.example:8443") == 9, "host len: port", NULL);
    check(hsts_host_len("[::1]:443") == 5, "host len: IPv6", NULL);
    check(hsts_host_len("h.example") == 9, "host len: bare", NULL);
    check(hsts_host_len("[::1") == 4, "host len: open bracket", NULL);
    check(hsts_url_path("*") == NULL, "path: asterisk form", NULL);
    check(hsts_url_path("h:443") == NULL, "path: authority form", NULL);
    check(hsts_url_path("") == NULL, "path: empty", NULL);

    url_case("hsts.test", 0, "/a%3Fb?x=%23", "https://hsts.test/a%3Fb?x=%23");
    url_case("hsts.test", 443, "/", "https://hsts.test/");
    url_case("hsts.test", 8443, "/p", "https://hsts.test:8443/p");
    url_case("::1", 0, "/v6", "https://[::1]/v6");
    url_case("[::1]", 0, "/v6", "https://[::1]/v6");
    url_case("hsts.test", 0, "?q", "https://hsts.test/?q");
    url_case("hsts.test", 0, "/%2541", "https://hsts.test/%2541");
    url_case("hsts.test", 0, "/a%2z%", "https://hsts.test/a%252z%25");
    url_case("hsts.test", 0, "/caf\xc3\xa9 x",
             "https://hsts.test/caf%C3%A9%20x");
    url_case("hsts.test", 0, "/a\r\nb\x7f#f",
             "https://hsts.test/a%0D%0Ab%7F%23f");
    url_case("hsts.test", 0, "/[x]{y}|\\^`\"<>",
             "https://hsts.test/%5Bx%5D%7By%7D%7C%5C%5E%60%22%3C%3E");
    url_case("hsts.test", 0, "/-._~!$&'()*+,;=:@/?",
             "https://hsts.test/-._~!$&'()*+,;=:@/?");
    url_case("evil?.hsts.test", 0, "/", NULL);
    url_case("", 0, "/", NULL);
    n = hsts_redirect_url(small, sizeof(small), "hsts.test", 0, "/abc");
    check(n == strlen("https://hsts.test/abc") && strlen(small) == 11,
          "url truncates safely and says the length", NULL);
    long_name[253] = '.';               /* 254: the longest valid name */
    check(hsts_host_is_valid(long_name), "host: 253 bytes and a dot", NULL);
    check(hsts_redirect_url(NULL, 0, long_name, 65535, "\x01\x02")
          < HSTS_URL_MAX("\x01\x02"), "HSTS_URL_MAX: longest host, port, "
          "every byte escaped", NULL);
    check(hsts_redirect_url(NULL, 0, "hsts.test", 0, "/\xff") ==
          strlen("https://hsts.test/%FF"), "url: sizing call", NULL);
}

int main(void)
{
    char small[8];
    hsts_policy_t p = { 31536000, 1, 1 };

    /* canonical output whatever the spelling */
    accepts("max-age=31536000", "max-age=31536000");
    accepts("max-age=31536000; includeSubDomains; preload",
            "max-age=31536000; includeSubDomains; preload");
    accepts("preload;includesubdomains;MAX-AGE=300",
            "max-age=300; includeSubDomains; preload");
    accepts("  max-age = 300 ;\tINCLUDESUBDOMAINS  ",
            "max-age=300; includeSubDomains");
    accepts("max-age=\"31536000\"", "max-age=31536000");
    accepts("max-age=\"3\\1\"", "max-age=31");
    accepts("max-age=000300", "max-age=300");
    accepts("max-age=0", "max-age=0");
    accepts("max-age=0; includeSubDomains", "max-age=0; includeSubDomains");
    accepts("max-age=2147483647", "max-age=2147483647");
    accepts(";max-age=1;;", "max-age=1");
    accepts("max-age=0000000000000000000000000000000000000000000000000007",
            "max-age=7");

    /* max-age problems */
    rejects("includeSubDomains", "missing max-age");
    rejects("", "missing max-age");
    rejects("max-age", "needs a value");
    rejects("max-age=", "empty max-age");
    rejects("max-age=\"\"", "empty max-age");
    rejects("max-age=-1", "must not have a sign");
    rejects("max-age=+300", "must not have a sign");
    rejects("max-age=3e5", "'3e5' is not a number");
    rejects("max-age=\"1 year\"", "'1 year' is not a number");
    rejects("max-age=2147483648", "above the limit");
    rejects("max-age=99999999999999999999999", "above the limit");
    rejects("max-age=\"" "0000000000000000000000000000000000000000"
            "000000000000000000000000000007\"", "too long");
    rejects("max-age=\"300", "unterminated");
    rejects("max-age=300 400", "unexpected '400'");

    /* repeated and valued flags */
    rejects("max-age=1; max-age=2", "more than once");
    rejects("max-age=1; preload; PRELOAD", "more than once");
    rejects("max-age=1; includeSubDomains; includesubdomains",
            "more than once");
    rejects("max-age=1; includeSubDomains=true", "takes no value");
    rejects("max-age=1; preload=yes", "'preload' takes no value");

    /* unknown directives, with hints for near misses */
    rejects("max-age=1; includeSubdomain", "did you mean 'includeSubDomains'");
    rejects("max-age=1; include_sub_domains",
            "did you mean 'includeSubDomains'");
    rejects("max_age=1", "did you mean 'max-age'");
    rejects("maxage=1", "did you mean 'max-age'");
    rejects("max-age=1; preloaded", "did you mean 'preload'");
    rejects("max-age=1; report-uri=x", "unknown directive 'report-uri'");
    rejects("max-age=1; foo", "known: max-age");

    /* control characters and stray syntax */
    rejects("max-age=1\r\nSet-Cookie: x=1", "control character 0x0d");
    rejects("max-age=1\x7f", "control character 0x7f");
    rejects("max-age=1, preload", "unexpected ', preload'");
    rejects("=1", "expected a directive name");

    /* formatting into a short buffer truncates and reports the length */
    check(hsts_policy_format(&p, small, sizeof(small)) ==
          strlen("max-age=31536000; includeSubDomains; preload")
          && strlen(small) == sizeof(small) - 1,
          "format truncates safely", NULL);

    exempt("127.0.0.1", 1);
    exempt("10.1.2.3", 1);
    exempt("[::1]", 1);
    exempt("::1", 1);
    exempt("[2001:db8::1]", 1);
    exempt("localhost", 1);
    exempt("LocalHost", 1);
    exempt("localhost.", 1);
    exempt("app.localhost", 1);
    exempt("", 1);
    exempt("example.com", 0);
    exempt("www.example.com.", 0);
    exempt("notlocalhost", 0);
    exempt("localhost.example.com", 0);
    exempt("1.2.3.example", 0);
    exempt("123example.com", 0);

    /* names a vhost can be reached by: can the Host be exempt? */
    never_exempt("example.com", 1);
    never_exempt("*.example.com", 1);
    never_exempt("www?.Example.ORG", 1);
    never_exempt("intranet", 1);
    never_exempt("localhost", 0);
    never_exempt("app.LOCALHOST", 0);
    never_exempt("127.0.0.1", 0);
    never_exempt("10.0.0.*", 0);
    never_exempt("*", 0);
    never_exempt("example.*", 0);
    never_exempt("*com", 0);
    never_exempt("example.com.", 0);
    never_exempt("fe80::abcd", 0);
    never_exempt("[::1]", 0);
    never_exempt("", 0);

    test_json();
    test_rollout();
    test_limits();
    test_redirect();
    test_preload_and_weaker();
    test_url();
    test_host_canon();
    test_utf8();

    printf("%d passed, %d failed\n", passed, failed);
    return failed != 0;
}
