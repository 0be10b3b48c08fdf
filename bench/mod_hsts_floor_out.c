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

/* The floor module with the header in headers_out: the cheapest way for
 * any module to send it (no table overlay in httpd's header filter). */
#define HSTS_FLOOR_TABLE headers_out
#include "mod_hsts_floor.c"
