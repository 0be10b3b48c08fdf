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
 * mod_hsts' version: the one place the number is written.  The Makefile
 * (tarball and package names), debian/changelog, CHANGES and README.md
 * are checked against it (scripts/version.sh check); the startup log and
 * `apachectl -t -D DUMP_HSTS` print it.
 *
 * Semantic versioning, 0.x while directives may still change: a release
 * that changes a directive or what goes on the wire says so in CHANGES.
 */

#ifndef MOD_HSTS_VERSION_H
#define MOD_HSTS_VERSION_H

#define MOD_HSTS_VERSION "0.2.0"

#endif /* MOD_HSTS_VERSION_H */
