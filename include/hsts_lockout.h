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
 * The lockout rules that know nothing of httpd or OpenSSL: which names a
 * certificate name covers (RFC 6125), which names a domain pins with
 * includeSubDomains, and where a validity period stands.  Unit-tested in
 * tests/unit/test_lockout.c; src/hsts_cert.c is the glue.
 */

#ifndef HSTS_LOCKOUT_H
#define HSTS_LOCKOUT_H

/* Whether the certificate name `pattern` (a subjectAltName DNS entry)
 * covers the host `host`, as browsers match them (RFC 6125 6.4): case
 * is ignored and so is one final dot; a wildcard is the whole leftmost
 * label ("*.example.com"), stands for exactly one non-empty label, and
 * needs two labels after it; "f*.example.com" and "*.com" cover
 * nothing. */
int hsts_dns_covers(const char *pattern, const char *host);

/* Whether `name` is `domain` or a name under it ("a.b.example.com" under
 * "example.com"), case and a final dot ignored. */
int hsts_name_under(const char *name, const char *domain);

/* Seconds since 1970 of a UTC calendar time (month 1..12). */
long long hsts_epoch(int year, int month, int day, int hour, int min,
                     int sec);

/* Whole days from `now` to `t`, rounded down: negative once past. */
long long hsts_days_left(long long t, long long now);

/* Where the validity period [not_before, not_after] stands at `now`,
 * with `expiry_days` of warning: HSTS_VALID_EXPIRING when fewer than
 * that many days are left.  *days_left (may be NULL): whole days until
 * not_after, negative once past. */
#define HSTS_VALID_OK       0
#define HSTS_VALID_EXPIRED  1
#define HSTS_VALID_NOT_YET  2
#define HSTS_VALID_EXPIRING 3
int hsts_validity(long long not_before, long long not_after, long long now,
                  int expiry_days, long long *days_left);

/* "YYYY-MM-DD" of a time in seconds since 1970, UTC; buf holds 11. */
void hsts_ymd(long long t, char *buf);

#endif /* HSTS_LOCKOUT_H */
