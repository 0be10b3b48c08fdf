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
 * The preload list's rules for a virtual host whose policy says preload
 * (src/hsts_preload.c): the header, what http://NAME/ gets from this
 * server, and www.NAME.
 */

#ifndef HSTS_PRELOAD_H
#define HSTS_PRELOAD_H

#include "hsts_check.h"

/* Checks `s` (whose policy `rule` says preload) and tells each finding
 * through hsts_tell()/hsts_say(). */
void hsts_preload_check(hsts_check *ck, server_rec *s, const hsts_rule *rule);

/* The issue code of Chromium's hstspreload checker that findings of this
 * kind mirror, or NULL when the list has no such rule. */
const char *hsts_preload_code(const char *kind);

#endif /* HSTS_PRELOAD_H */
