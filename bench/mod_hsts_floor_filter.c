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

/* The floor module set up the way mod_hsts is: a protocol filter added to
 * every request in create_request puts the header in headers_out on its
 * first brigade.  No configuration, no TLS test, no de-duplication, no
 * note: what the mechanism alone costs. */
#define HSTS_FLOOR_TABLE headers_out
#define HSTS_FLOOR_FILTER 1
#include "mod_hsts_floor.c"
