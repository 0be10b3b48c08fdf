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
 * The JSON writer shared by `apachectl -t -D DUMP_HSTS` and the
 * hsts-status handler: values go straight to a sink (a buffered file, a
 * request's output brigade) as they are made, so a document of any size
 * is never held in memory.  Commas come by themselves: a field is one
 * call.  Knows nothing of httpd (unit-tested).
 */

#ifndef HSTS_JSON_H
#define HSTS_JSON_H

#include <stddef.h>

/* The version of the documented schema (README, "Schema"): DUMP_HSTS
 * and hsts-status say it; any field added bumps it.  1 was DUMP_HSTS
 * before it said a schema. */
#define HSTS_JSON_SCHEMA 2

#define HSTS_JSON_DEPTH 16

/* Writes len bytes; non-zero on failure (a client gone, a full disk). */
typedef int (*hsts_json_sink)(void *baton, const char *buf, size_t len);

typedef struct {
    hsts_json_sink write;
    void *baton;
    int failed;                 /* a write failed: the rest is dropped */
    int depth;
    int keyed;                  /* a key was written, its value is next */
    unsigned char more[HSTS_JSON_DEPTH];    /* a member written at depth */
    unsigned char array[HSTS_JSON_DEPTH];   /* the container is an array */
} hsts_json;

void hsts_json_init(hsts_json *j, hsts_json_sink write, void *baton);

/* Containers: an object or array as a value (after a key, or in an
 * array), closed by hsts_json_end. */
void hsts_json_object(hsts_json *j);
void hsts_json_array(hsts_json *j);
void hsts_json_end(hsts_json *j);

/* The key of the next value; `key` is a plain identifier, not escaped. */
void hsts_json_key(hsts_json *j, const char *key);

/* Values.  A NULL string is null; bytes that are no UTF-8 come out as
 * \u00XX, so the output is valid JSON whatever the config holds. */
void hsts_json_str(hsts_json *j, const char *s);
void hsts_json_int(hsts_json *j, long long n);
void hsts_json_bool(hsts_json *j, int b);
void hsts_json_null(hsts_json *j);

/* A key and its value: one call per field. */
void hsts_json_kstr(hsts_json *j, const char *key, const char *s);
void hsts_json_kint(hsts_json *j, const char *key, long long n);
void hsts_json_kbool(hsts_json *j, const char *key, int b);

/* Ends a top-level value with a newline (JSON lines). */
void hsts_json_newline(hsts_json *j);

#endif /* HSTS_JSON_H */
