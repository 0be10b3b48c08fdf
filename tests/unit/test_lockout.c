/* Unit tests for the lockout rules that know nothing of httpd
 * (src/hsts_lockout.c).  Prints one line per failure and a closing
 * "N passed, N failed" line. */

#include <stdio.h>
#include <string.h>

#include "hsts_lockout.h"

static int passed, failed;

static void check(int ok, const char *what)
{
    if (ok) {
        passed++;
    }
    else {
        failed++;
        printf("FAIL: %s\n", what);
    }
}

static void covers(const char *pattern, const char *host, int want)
{
    char what[300];

    snprintf(what, sizeof(what), "[%s] %s [%s]", pattern,
             want ? "covers" : "does not cover", host);
    check(hsts_dns_covers(pattern, host) == want, what);
}

static void under(const char *name, const char *domain, int want)
{
    char what[300];

    snprintf(what, sizeof(what), "[%s] %s [%s]", name,
             want ? "is under" : "is not under", domain);
    check(hsts_name_under(name, domain) == want, what);
}

static void validity(long long nb, long long na, long long now, int days,
                     int want, long long want_left)
{
    char what[300];
    long long left = 12345;
    int got = hsts_validity(nb, na, now, days, &left);

    snprintf(what, sizeof(what), "validity(%lld, %lld, %lld, %d) = %d "
             "left %lld, got %d left %lld", nb, na, now, days, want,
             want_left, got, left);
    check(got == want && left == want_left, what);
}

static void ymd(long long t, const char *want)
{
    char buf[11], what[100];

    hsts_ymd(t, buf);
    snprintf(what, sizeof(what), "ymd(%lld) = %s, got %s", t, want, buf);
    check(!strcmp(buf, want), what);
}

int main(void)
{
    long long day = 86400, t0 = hsts_epoch(2026, 12, 7, 12, 0, 0);

    /* exact names: case and one final dot ignored */
    covers("example.com", "example.com", 1);
    covers("Example.COM", "example.com", 1);
    covers("example.com.", "example.com", 1);
    covers("example.com", "EXAMPLE.com.", 1);
    covers("example.com", "www.example.com", 0);
    covers("www.example.com", "example.com", 0);
    covers("example.com", "example.co", 0);
    covers("", "example.com", 0);
    covers("example.com", "", 0);
    /* RFC 6125: one label, leftmost, whole */
    covers("*.example.com", "www.example.com", 1);
    covers("*.example.com", "WWW.Example.Com.", 1);
    covers("*.example.com", "example.com", 0);
    covers("*.example.com", "a.b.example.com", 0);
    covers("*.example.com", ".example.com", 0);
    covers("*.example.com", "wwwexample.com", 0);
    covers("w*.example.com", "www.example.com", 0);
    covers("*w.example.com", "www.example.com", 0);
    covers("www.*.com", "www.example.com", 0);
    covers("*.*.example.com", "a.b.example.com", 0);
    covers("*.com", "example.com", 0);
    covers("*", "example", 0);
    covers("*.", "example.", 0);
    covers("*..com", "a..com", 0);
    /* an httpd wildcard alias is covered by the same wildcard only */
    covers("*.example.com", "*.example.com", 1);
    covers("*.example.com", "*.b.example.com", 0);

    under("example.com", "example.com", 1);
    under("a.example.com", "example.com", 1);
    under("a.b.Example.com.", "example.COM", 1);
    under("badexample.com", "example.com", 0);
    under("example.com", "a.example.com", 0);
    under("*.intra.example.com", "example.com", 1);
    under("x", "", 0);

    check(hsts_epoch(1970, 1, 1, 0, 0, 0) == 0, "epoch 1970");
    check(hsts_epoch(2000, 3, 1, 0, 0, 0) == 951868800LL, "epoch 2000-03");
    check(hsts_epoch(2038, 1, 19, 3, 14, 8) == 2147483648LL, "epoch 2038");
    ymd(0, "1970-01-01");
    ymd(951868799LL, "2000-02-29");
    ymd(2147483648LL, "2038-01-19");
    ymd(hsts_epoch(2050, 12, 31, 23, 59, 59), "2050-12-31");
    ymd(-1, "1969-12-31");

    validity(t0 - day, t0 + 100 * day, t0, 14, HSTS_VALID_OK, 100);
    validity(t0 - day, t0 + 14 * day, t0, 14, HSTS_VALID_OK, 14);
    validity(t0 - day, t0 + 14 * day - 1, t0, 14, HSTS_VALID_EXPIRING, 13);
    validity(t0 - day, t0 + 3 * day, t0, 14, HSTS_VALID_EXPIRING, 3);
    validity(t0 - day, t0 + 3 * day, t0, 0, HSTS_VALID_OK, 3);
    validity(t0 - 9 * day, t0, t0, 14, HSTS_VALID_EXPIRING, 0);
    validity(t0 - 9 * day, t0 - 1, t0, 14, HSTS_VALID_EXPIRED, -1);
    validity(t0 - 9 * day, t0 - 2 * day, t0, 14, HSTS_VALID_EXPIRED, -2);
    validity(t0 + 1, t0 + 100 * day, t0, 14, HSTS_VALID_NOT_YET, 100);

    printf("%d passed, %d failed\n", passed, failed);
    return failed != 0;
}
