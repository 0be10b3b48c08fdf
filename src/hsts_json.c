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
 * The JSON writer (include/hsts_json.h): no httpd, no allocation.
 */

#include <stdio.h>
#include <string.h>

#include "hsts_json.h"
#include "hsts_policy.h"

void hsts_json_init(hsts_json *j, hsts_json_sink write, void *baton)
{
    memset(j, 0, sizeof(*j));
    j->write = write;
    j->baton = baton;
}

static void hsts_json_put(hsts_json *j, const char *buf, size_t len)
{
    if (!j->failed && len && j->write(j->baton, buf, len)) {
        j->failed = 1;
    }
}

/* What comes before any value: a comma after an earlier member of the
 * same container, nothing right after a key. */
static void hsts_json_sep(hsts_json *j)
{
    if (j->keyed) {
        j->keyed = 0;
        return;
    }
    if (j->depth && j->more[j->depth]) {
        hsts_json_put(j, ",", 1);
    }
    j->more[j->depth] = 1;
}

static void hsts_json_open(hsts_json *j, int array)
{
    hsts_json_sep(j);
    hsts_json_put(j, array ? "[" : "{", 1);
    /* deeper than any document here nests: the commas stay right, only
     * the closing brackets would be wrong */
    if (j->depth < HSTS_JSON_DEPTH - 1) {
        j->depth++;
    }
    j->more[j->depth] = 0;
    j->array[j->depth] = (unsigned char)array;
}

void hsts_json_object(hsts_json *j)
{
    hsts_json_open(j, 0);
}

void hsts_json_array(hsts_json *j)
{
    hsts_json_open(j, 1);
}

void hsts_json_end(hsts_json *j)
{
    hsts_json_put(j, j->array[j->depth] ? "]" : "}", 1);
    if (j->depth) {
        j->depth--;
    }
}

void hsts_json_key(hsts_json *j, const char *key)
{
    hsts_json_sep(j);
    hsts_json_put(j, "\"", 1);
    hsts_json_put(j, key, strlen(key));
    hsts_json_put(j, "\":", 2);
    j->keyed = 1;
}

void hsts_json_str(hsts_json *j, const char *s)
{
    const char *c, *run;

    if (!s) {
        hsts_json_null(j);
        return;
    }
    hsts_json_sep(j);
    hsts_json_put(j, "\"", 1);
    for (run = c = s; *c; c++) {
        unsigned char u = (unsigned char)*c;
        char esc[8];
        size_t n;

        if (u >= 0x20 && u < 0x7f && u != '"' && u != '\\') {
            continue;
        }
        if (u >= 0x80 && (n = hsts_utf8_len(c)) > 0) {
            c += n - 1;         /* valid UTF-8 goes out as it is */
            continue;
        }
        hsts_json_put(j, run, (size_t)(c - run));
        if (u < 0x20 || u >= 0x7f) {
            /* a byte that is no UTF-8 (a Latin-1 file name, say) as the
             * character of that number: the output stays valid JSON */
            snprintf(esc, sizeof(esc), "\\u%04x", u);
            hsts_json_put(j, esc, 6);
        }
        else {
            esc[0] = '\\';
            esc[1] = *c;
            hsts_json_put(j, esc, 2);
        }
        run = c + 1;
    }
    hsts_json_put(j, run, (size_t)(c - run));
    hsts_json_put(j, "\"", 1);
}

void hsts_json_int(hsts_json *j, long long n)
{
    char buf[32];
    int len = snprintf(buf, sizeof(buf), "%lld", n);

    hsts_json_sep(j);
    hsts_json_put(j, buf, (size_t)len);
}

void hsts_json_bool(hsts_json *j, int b)
{
    hsts_json_sep(j);
    hsts_json_put(j, b ? "true" : "false", b ? 4 : 5);
}

void hsts_json_null(hsts_json *j)
{
    hsts_json_sep(j);
    hsts_json_put(j, "null", 4);
}

void hsts_json_kstr(hsts_json *j, const char *key, const char *s)
{
    hsts_json_key(j, key);
    hsts_json_str(j, s);
}

void hsts_json_kint(hsts_json *j, const char *key, long long n)
{
    hsts_json_key(j, key);
    hsts_json_int(j, n);
}

void hsts_json_kbool(hsts_json *j, const char *key, int b)
{
    hsts_json_key(j, key);
    hsts_json_bool(j, b);
}

void hsts_json_newline(hsts_json *j)
{
    hsts_json_put(j, "\n", 1);
    j->more[0] = 0;
    j->keyed = 0;
}
