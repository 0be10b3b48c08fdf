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
 * mod_hsts_floor: the benchmark's yardstick, never for production.  Sets
 * one precomputed Strict-Transport-Security header in a fixups hook and
 * does nothing else: no TLS test, no configuration, no de-duplication.
 * What it costs is the price of the header bytes themselves (formatting,
 * httpd's header scan, encryption), the floor for any HSTS module.
 */

#include "httpd.h"
#include "http_config.h"
#include "http_request.h"
#include "util_filter.h"

/* err_headers_out, as `Header always set` does and as the floor
 * did; mod_hsts_floor_out.c builds the headers_out variant, which spares
 * httpd's header filter the overlay of the two tables, and
 * mod_hsts_floor_filter.c the variant that sets it from a protocol filter
 * added in create_request, mod_hsts' mechanism with nothing else. */
#ifndef HSTS_FLOOR_TABLE
#define HSTS_FLOOR_TABLE err_headers_out
#endif

static void hsts_floor_set(request_rec *r)
{
    apr_table_setn(r->HSTS_FLOOR_TABLE, "Strict-Transport-Security",
                   "max-age=31536000; includeSubDomains");
}

#ifdef HSTS_FLOOR_FILTER
static ap_filter_rec_t *hsts_floor_filter_handle;

static apr_status_t hsts_floor_filter(ap_filter_t *f,
                                      apr_bucket_brigade *bb)
{
    if (f->ctx != f->r) {
        hsts_floor_set(f->r);
        f->ctx = f->r;
    }
    return ap_pass_brigade(f->next, bb);
}

static int hsts_floor_create_request(request_rec *r)
{
    if (!r->main && !r->prev) {
        ap_add_output_filter_handle(hsts_floor_filter_handle, NULL, r,
                                    r->connection);
    }
    return DECLINED;
}

static void hsts_floor_register_hooks(apr_pool_t *p)
{
    (void)p;
    hsts_floor_filter_handle = ap_register_output_filter(
        "HSTS_FLOOR", hsts_floor_filter, NULL, AP_FTYPE_PROTOCOL);
    ap_hook_create_request(hsts_floor_create_request, NULL, NULL,
                           APR_HOOK_LAST);
}
#else
static int hsts_floor_fixups(request_rec *r)
{
    hsts_floor_set(r);
    return DECLINED;
}

static void hsts_floor_register_hooks(apr_pool_t *p)
{
    (void)p;
    ap_hook_fixups(hsts_floor_fixups, NULL, NULL, APR_HOOK_MIDDLE);
}
#endif

AP_DECLARE_MODULE(hsts_floor) = {
    STANDARD20_MODULE_STUFF,
    NULL,
    NULL,
    NULL,
    NULL,
    NULL,
    hsts_floor_register_hooks
#if defined(AP_MODULE_HAS_FLAGS)
    , AP_MODULE_FLAG_NONE
#endif
};
