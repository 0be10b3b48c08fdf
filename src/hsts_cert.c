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
 * HSTSLockoutCheck: with HSTS a browser gives its user no way past a
 * certificate error, and includeSubDomains pins names that may have no
 * HTTPS at all.  So, when the configuration is read, every name a policy
 * with max-age > 0 pins must be answered by a TLS vhost whose
 * certificates cover it, are valid, and verify.  Nothing here runs per
 * request.
 *
 * The certificates are not visible through the TLS modules' private
 * records, so the configuration tree is read the way mod_ssl reads it:
 * SSLCertificateFile lines of a vhost replace the main server's one by
 * one (PR 56306), the leaf comes first in its file and the chain
 * follows it, SSLCertificateChainFile adds to the chain, and of two
 * certificates with the same key type the later wins.  Each file is
 * read once per check, each (file, chain) verified once, and the trust
 * store made once: hosting configurations have a certificate per vhost.
 * Names and dates are matched by the httpd-free code in hsts_lockout.c.
 */

#include "mod_hsts.h"
#include "hsts_check.h"
#include "hsts_lockout.h"
#include "hsts_policy.h"
#include "apr_lib.h"
#include "apr_file_info.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

APLOG_USE_MODULE(hsts);

/* mod_ssl keeps this many SSLCertificateFile slots per server
 * (CERTKEYS_IDX_MAX + 1): a vhost's lines replace the main server's in
 * those, and further lines are added after them. */
#define HSTS_CERT_SLOTS 3

/* -- what the configuration says ---------------------------------------- */

/* A certificate as a directive names it. */
typedef struct {
    const char *file;           /* as written */
    const char *directive;
} hsts_cert_src;

typedef struct {
    apr_array_header_t *ssl;    /* SSLCertificateFile, hsts_cert_src */
    const char *chain;          /* SSLCertificateChainFile */
    apr_array_header_t *other;  /* GnuTLSCertificateFile, TLSCertificate */
} hsts_cert_said;

/* A <VirtualHost> by where it starts (server_rec's defn_name is the very
 * string the directive's filename points to). */
typedef struct {
    const char *file;
    apr_size_t line;
} hsts_cert_vkey;

/* One certificate file, read once. */
typedef struct {
    const char *path;           /* absolute */
    const char *error;          /* why it could not be used, or NULL */
    X509 *leaf;
    STACK_OF(X509) *chain;      /* what follows the leaf in the file */
    apr_array_header_t *names;  /* subjectAltName DNS names */
    long long not_before, not_after;
    char from[11], until[11];   /* YYYY-MM-DD */
    const char *issuer;
    const char *key;            /* "RSA 2048", "EC 256" */
    int key_type;
    int weak_rsa;               /* RSA below 2048 bits */
    const char *weak_digest;    /* "SHA1", "MD5" or NULL */
    int chain_of;               /* a chain file: its certificates stay */
    int released;               /* leaf and chain let go once verified */
} hsts_cert_file;

/* A certificate as a server uses it: the file and its chain file. */
typedef struct {
    hsts_cert_file *cf;
    hsts_cert_file *chain;      /* SSLCertificateChainFile, or NULL */
    const char *directive;
    int verify;                 /* -1: not yet; 0: fails; 1: verifies */
    const char *why;            /* why it does not verify */
    const char *weak_sig;       /* "SHA1" or "MD5": a certificate of the
                                 * verified chain below its root is
                                 * signed so (the leaf's own digest when
                                 * it does not verify) */
    int told;                   /* its findings are in the log */
} hsts_cert_use;

/* What a server presents. */
typedef struct {
    apr_array_header_t *uses;   /* hsts_cert_use * */
    const char *md;             /* mod_md's domain, when it supplies them */
    const char *md_dir;         /* where its certificates were looked for */
    const char *unread;         /* a certificate not read, and why */
} hsts_certs;

/* A wildcard name of a TLS vhost, in configuration order. */
typedef struct {
    const char *pattern;
    server_rec *s;
} hsts_cert_pattern;

struct hsts_lockout {
    apr_pool_t *p;
    int mode;
    const char *ca;
    int expiry;
    apr_hash_t *vhosts;         /* hsts_cert_vkey -> hsts_cert_said */
    hsts_cert_said main;
    apr_array_header_t *no_certs;   /* empty */
    apr_hash_t *mds;            /* lower-case name -> mod_md domain */
    const char *md_store;
    apr_hash_t *files;          /* absolute path -> hsts_cert_file */
    apr_hash_t *uses;           /* path NUL chain path -> hsts_cert_use */
    apr_hash_t *servers;        /* server_rec * -> hsts_certs */
    X509_STORE *store;
    const char *store_error;
    int store_made;
    int bundle_loaded;          /* the default bundle file is in store */
    /* which TLS vhost answers for a name: the first in the configuration
     * that has it, exactly, by "*.suffix", or by another wildcard */
    apr_hash_t *tls_names;      /* lower-case name -> server_rec */
    apr_hash_t *tls_stars;      /* what follows "*" -> server_rec */
    apr_array_header_t *tls_patterns;   /* hsts_cert_pattern, last first */
    apr_hash_t *pinned;         /* includeSubDomains name -> server_rec */
    apr_hash_t *told;           /* names checked, when logging */
};

/* The lists are made by their first line: hosting configurations have
 * many vhosts that say nothing of certificates. */
static void hsts_cert_push(apr_pool_t *p, apr_array_header_t **list,
                           const char *args, const char *directive)
{
    hsts_cert_src *src;

    if (!*list) {
        *list = apr_array_make(p, 2, sizeof(hsts_cert_src));
    }
    src = apr_array_push(*list);

    src->file = ap_getword_conf(p, &args);
    src->directive = directive;
}

/* A name as the indexes hold it: lower case, no final dot; copied only
 * when it is not so already, as most names in a configuration are. */
static const char *hsts_cert_lower(apr_pool_t *p, const char *name)
{
    const char *c;
    char *copy;
    apr_size_t n;

    for (c = name; *c && !apr_isupper(*c); c++) {
        continue;
    }
    n = (apr_size_t)(c - name) + strlen(c);
    if (!*c && (n < 2 || name[n - 1] != '.')) {
        return name;
    }
    copy = apr_pstrdup(p, name);
    if (n > 1 && copy[n - 1] == '.') {
        copy[n - 1] = '\0';
    }
    ap_str_tolower(copy);
    return copy;
}

/* The names of an MDomain line or <MDomainSet> section: the first names
 * the domain, "auto" and "manual" are modes, not names. */
static void hsts_cert_md(hsts_lockout *lo, const char *args,
                         const ap_directive_t *members)
{
    const char *md = NULL, *word;

    while (*(word = ap_getword_conf(lo->p, &args))) {
        apr_size_t n = strlen(word);

        if (word[n - 1] == '>') {
            word = apr_pstrndup(lo->p, word, n - 1);
        }
        if (!*word || !ap_cstr_casecmp(word, "auto")
            || !ap_cstr_casecmp(word, "manual")) {
            continue;
        }
        if (!md) {
            md = word;
        }
        apr_hash_set(lo->mds, hsts_cert_lower(lo->p, word),
                     APR_HASH_KEY_STRING, md);
    }
    for (; md && members; members = members->next) {
        if (!ap_cstr_casecmp(members->directive, "MDMember")) {
            hsts_cert_md(lo, apr_pstrcat(lo->p, md, " ", members->args,
                                         NULL), NULL);
        }
    }
}

static void hsts_cert_walk(hsts_lockout *lo, const ap_directive_t *d,
                           hsts_cert_said *said)
{
    for (; d; d = d->next) {
        const char *name = d->directive;

        if (!ap_cstr_casecmp(name, "<VirtualHost")) {
            hsts_cert_vkey *key = apr_pcalloc(lo->p, sizeof(*key));
            hsts_cert_said *v = apr_pcalloc(lo->p, sizeof(*v));

            key->file = d->filename;
            key->line = (apr_size_t)d->line_num;
            apr_hash_set(lo->vhosts, key, sizeof(*key), v);
            hsts_cert_walk(lo, d->first_child, v);
        }
        else if (!ap_cstr_casecmp(name, "SSLCertificateFile")) {
            hsts_cert_push(lo->p, &said->ssl, d->args, "SSLCertificateFile");
        }
        else if (!ap_cstr_casecmp(name, "SSLCertificateChainFile")) {
            const char *args = d->args;

            said->chain = ap_getword_conf(lo->p, &args);
        }
        else if (!ap_cstr_casecmp(name, "GnuTLSCertificateFile")
                 || !ap_cstr_casecmp(name, "TLSCertificate")) {
            hsts_cert_push(lo->p, &said->other, d->args, name);
        }
        else if (!ap_cstr_casecmp(name, "MDomain")
                 || !ap_cstr_casecmp(name, "ManagedDomain")) {
            hsts_cert_md(lo, d->args, NULL);
        }
        else if (!ap_cstr_casecmp(name, "<MDomainSet")
                 || !ap_cstr_casecmp(name, "<MDomain")
                 || !ap_cstr_casecmp(name, "<ManagedDomain")) {
            hsts_cert_md(lo, d->args, d->first_child);
        }
        else if (!ap_cstr_casecmp(name, "MDStoreDir")) {
            const char *args = d->args;

            lo->md_store = ap_getword_conf(lo->p, &args);
        }
        else if (d->first_child) {
            hsts_cert_walk(lo, d->first_child, said);
        }
    }
}

/* -- reading and verifying ---------------------------------------------- */

static apr_status_t hsts_cert_cleanup(void *data)
{
    hsts_lockout *lo = data;
    apr_hash_index_t *hi;

    for (hi = apr_hash_first(NULL, lo->files); hi; hi = apr_hash_next(hi)) {
        hsts_cert_file *cf = apr_hash_this_val(hi);

        X509_free(cf->leaf);
        sk_X509_pop_free(cf->chain, X509_free);
    }
    X509_STORE_free(lo->store);
    return APR_SUCCESS;
}

static const char *hsts_cert_openssl_error(apr_pool_t *p)
{
    unsigned long e = ERR_peek_last_error();
    char buf[256];

    ERR_error_string_n(e, buf, sizeof(buf));
    ERR_clear_error();
    return e ? apr_pstrdup(p, buf) : "no reason given";
}

static long long hsts_cert_time(const ASN1_TIME *t)
{
    struct tm tm;

    memset(&tm, 0, sizeof(tm));
    if (!t || !ASN1_TIME_to_tm(t, &tm)) {
        return 0;
    }
    return hsts_epoch(tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                      tm.tm_hour, tm.tm_min, tm.tm_sec);
}

static void hsts_cert_describe(apr_pool_t *p, hsts_cert_file *cf)
{
    GENERAL_NAMES *gens = X509_get_ext_d2i(cf->leaf, NID_subject_alt_name,
                                           NULL, NULL);
    EVP_PKEY *pk = X509_get0_pubkey(cf->leaf);
    int i, md_nid = NID_undef, pk_nid;
    BIO *bio;

    cf->names = apr_array_make(p, 4, sizeof(const char *));
    for (i = 0; gens && i < sk_GENERAL_NAME_num(gens); i++) {
        const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
        const unsigned char *data;
        int len;

        if (g->type != GEN_DNS) {
            continue;
        }
        data = ASN1_STRING_get0_data(g->d.dNSName);
        len = ASN1_STRING_length(g->d.dNSName);
        if (len > 0 && !memchr(data, '\0', (size_t)len)) {
            APR_ARRAY_PUSH(cf->names, const char *) =
                apr_pstrmemdup(p, (const char *)data, (apr_size_t)len);
        }
    }
    GENERAL_NAMES_free(gens);
    cf->not_before = hsts_cert_time(X509_get0_notBefore(cf->leaf));
    cf->not_after = hsts_cert_time(X509_get0_notAfter(cf->leaf));
    hsts_ymd(cf->not_before, cf->from);
    hsts_ymd(cf->not_after, cf->until);
    if ((bio = BIO_new(BIO_s_mem()))) {
        char *text;
        long n;

        X509_NAME_print_ex(bio, X509_get_issuer_name(cf->leaf), 0,
                           XN_FLAG_RFC2253);
        n = BIO_get_mem_data(bio, &text);
        cf->issuer = apr_pstrmemdup(p, text, n > 0 ? (apr_size_t)n : 0);
        BIO_free(bio);
    }
    if (pk) {
        cf->key_type = EVP_PKEY_base_id(pk);
        cf->key = apr_psprintf(p, "%s %d", OBJ_nid2sn(cf->key_type),
                               EVP_PKEY_bits(pk));
        cf->weak_rsa = cf->key_type == EVP_PKEY_RSA && EVP_PKEY_bits(pk)
                                                       < 2048;
    }
    if (OBJ_find_sigid_algs(X509_get_signature_nid(cf->leaf), &md_nid,
                            &pk_nid)
        && (md_nid == NID_sha1 || md_nid == NID_md5)) {
        cf->weak_digest = OBJ_nid2sn(md_nid);
    }
}

/* Reads the certificates of cf->path: the first is the leaf, the ones
 * after it the chain, anything else (the key, in a combined file) is
 * skipped.  Non-zero when there is a leaf. */
static int hsts_cert_parse(hsts_lockout *lo, hsts_cert_file *cf)
{
    X509 *x;
    BIO *bio;

    ERR_clear_error();
    if (!(bio = BIO_new_file(cf->path, "r"))) {
        cf->error = apr_psprintf(lo->p, "cannot be read (%s)",
                                 hsts_cert_openssl_error(lo->p));
        return 0;
    }
    cf->leaf = PEM_read_bio_X509_AUX(bio, NULL, NULL, NULL);
    cf->chain = sk_X509_new_null();
    while (cf->leaf && cf->chain
           && (x = PEM_read_bio_X509(bio, NULL, NULL, NULL))) {
        sk_X509_push(cf->chain, x);
    }
    ERR_clear_error();              /* the end of the file */
    BIO_free(bio);
    if (!cf->leaf) {
        cf->error = "holds no PEM certificate";
        return 0;
    }
    return 1;
}

/* The file at `path` (absolute), read on first use; read again only if
 * its certificates were let go and a new chain needs them. */
static hsts_cert_file *hsts_cert_file_get(hsts_lockout *lo, const char *path)
{
    hsts_cert_file *cf = apr_hash_get(lo->files, path, APR_HASH_KEY_STRING);

    if (cf) {
        if (cf->released && hsts_cert_parse(lo, cf)) {
            cf->released = 0;
        }
        return cf;
    }
    cf = apr_pcalloc(lo->p, sizeof(*cf));
    cf->path = path;
    apr_hash_set(lo->files, path, APR_HASH_KEY_STRING, cf);
    if (hsts_cert_parse(lo, cf)) {
        hsts_cert_describe(lo->p, cf);
    }
    return cf;
}

/* Once verified, what a certificate file says is kept as text and its
 * parsed certificates let go: a hosting configuration has thousands,
 * and mod_ssl is about to load them all too.  Chain files stay. */
static void hsts_cert_release(hsts_cert_file *cf)
{
    if (cf->chain_of || !cf->leaf) {
        return;
    }
    X509_free(cf->leaf);
    sk_X509_pop_free(cf->chain, X509_free);
    cf->leaf = NULL;
    cf->chain = NULL;
    cf->released = 1;
}

/* httpd resolves a certificate file against ServerRoot as mod_ssl
 * does. */
static const char *hsts_cert_path(hsts_lockout *lo, const char *file)
{
    const char *path = ap_server_root_relative(lo->p, file);

    return path ? path : file;
}

static void hsts_cert_verify(hsts_lockout *lo, hsts_cert_use *u);

static hsts_cert_use *hsts_cert_use_get(hsts_lockout *lo, const char *file,
                                        const char *chain,
                                        const char *directive)
{
    const char *path = hsts_cert_path(lo, file);
    const char *cpath = chain ? hsts_cert_path(lo, chain) : "";
    const char *key = apr_pstrcat(lo->p, path, "\n", cpath, NULL);
    hsts_cert_use *u = apr_hash_get(lo->uses, key, APR_HASH_KEY_STRING);

    if (!u) {
        u = apr_pcalloc(lo->p, sizeof(*u));
        u->cf = hsts_cert_file_get(lo, path);
        if (chain) {
            u->chain = hsts_cert_file_get(lo, cpath);
            u->chain->chain_of = 1;
        }
        u->directive = directive;
        u->verify = -1;
        apr_hash_set(lo->uses, key, APR_HASH_KEY_STRING, u);
        hsts_cert_verify(lo, u);
        hsts_cert_release(u->cf);
    }
    return u;
}

/* The expiry dates are findings of their own: a verification that
 * failed only on them says nothing about the chain. */
static int hsts_cert_verify_cb(int ok, X509_STORE_CTX *ctx)
{
    int err = X509_STORE_CTX_get_error(ctx);

    if (!ok && X509_STORE_CTX_get_error_depth(ctx) == 0
        && (err == X509_V_ERR_CERT_HAS_EXPIRED
            || err == X509_V_ERR_CERT_NOT_YET_VALID)) {
        return 1;
    }
    return ok;
}

/* The trust store: the hashed directory (SSL_CERT_DIR, else OpenSSL's
 * default), which is looked up by subject only when needed, and ca=.
 * The default bundle file (SSL_CERT_FILE, else OpenSSL's) holds every
 * public root and costs some 50 ms to parse, so it is loaded only when
 * a chain finds no trusted issuer without it. */
static X509_STORE *hsts_cert_store(hsts_lockout *lo)
{
    X509_LOOKUP *dir;

    if (lo->store_made) {
        return lo->store;
    }
    lo->store_made = 1;
    ERR_clear_error();
    if (!(lo->store = X509_STORE_new())
        || !(dir = X509_STORE_add_lookup(lo->store, X509_LOOKUP_hash_dir()))
        || !X509_LOOKUP_add_dir(dir, NULL, X509_FILETYPE_DEFAULT)) {
        lo->store_error = apr_psprintf(lo->p, "no trust store (%s)",
                                       hsts_cert_openssl_error(lo->p));
        return lo->store;
    }
#if OPENSSL_VERSION_NUMBER >= 0x30000000L
    if (lo->ca && !X509_STORE_load_file(lo->store, lo->ca)) {
#else
    if (lo->ca && !X509_STORE_load_locations(lo->store, lo->ca, NULL)) {
#endif
        lo->store_error = apr_psprintf(lo->p, "the ca= file %s cannot be "
                                       "used (%s)", lo->ca,
                                       hsts_cert_openssl_error(lo->p));
    }
    ERR_clear_error();
    return lo->store;
}

static int hsts_cert_untrusted_root(int err)
{
    return err == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY
           || err == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT
           || err == X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN
           || err == X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT;
}

/* Browsers, and the preload list's checker, refuse a chain with a SHA-1
 * (or MD5) signature anywhere below its trust anchor, whose own
 * signature nobody checks; OpenSSL's verification at its default level
 * takes it. */
static void hsts_cert_weak_sig(hsts_cert_use *u, STACK_OF(X509) *chain)
{
    int i, md_nid, pk_nid;

    for (i = 0; chain && i < sk_X509_num(chain) - 1; i++) {
        if (OBJ_find_sigid_algs(X509_get_signature_nid(sk_X509_value(chain,
                                                                     i)),
                                &md_nid, &pk_nid)
            && (md_nid == NID_sha1 || md_nid == NID_md5)) {
            u->weak_sig = OBJ_nid2sn(md_nid);
            return;
        }
    }
}

static int hsts_cert_verify_once(X509_STORE *store, hsts_cert_use *u,
                                 int *depth)
{
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    STACK_OF(X509) *untrusted = sk_X509_new_null();
    int i, err = X509_V_ERR_OUT_OF_MEM;

    if (ctx && untrusted
        && X509_STORE_CTX_init(ctx, store, u->cf->leaf, untrusted)) {
        for (i = 0; i < sk_X509_num(u->cf->chain); i++) {
            sk_X509_push(untrusted, sk_X509_value(u->cf->chain, i));
        }
        if (u->chain && u->chain->leaf) {
            sk_X509_push(untrusted, u->chain->leaf);
            for (i = 0; i < sk_X509_num(u->chain->chain); i++) {
                sk_X509_push(untrusted, sk_X509_value(u->chain->chain, i));
            }
        }
        X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_SSL_SERVER);
        X509_STORE_CTX_set_verify_cb(ctx, hsts_cert_verify_cb);
        err = X509_verify_cert(ctx) == 1 ? X509_V_OK
                                         : X509_STORE_CTX_get_error(ctx);
        *depth = X509_STORE_CTX_get_error_depth(ctx);
        if (err == X509_V_OK) {
            hsts_cert_weak_sig(u, X509_STORE_CTX_get0_chain(ctx));
        }
    }
    ERR_clear_error();
    X509_STORE_CTX_free(ctx);
    sk_X509_free(untrusted);
    return err;
}

static const char *hsts_cert_verify_hint(int err)
{
    switch (err) {
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
        return ": an intermediate certificate missing from the file (after "
               "the certificate, or in SSLCertificateChainFile), or a CA "
               "this system does not trust (HSTSLockoutCheck ca=FILE for a "
               "private one)";
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
        return ": browsers trust no self-signed certificate";
    default:
        return "";
    }
}

/* What a browser would make of the chain, once per (file, chain). */
static void hsts_cert_verify(hsts_lockout *lo, hsts_cert_use *u)
{
    X509_STORE *store;
    int err, depth = 0;

    if (u->verify >= 0 || u->cf->error) {
        return;
    }
    u->verify = 0;
    store = hsts_cert_store(lo);
    if (lo->store_error) {
        u->why = lo->store_error;
        return;
    }
    err = hsts_cert_verify_once(store, u, &depth);
    if (hsts_cert_untrusted_root(err) && !lo->bundle_loaded) {
        X509_LOOKUP *file = X509_STORE_add_lookup(store,
                                                  X509_LOOKUP_file());

        lo->bundle_loaded = 1;
        if (file) {
            X509_LOOKUP_load_file(file, NULL, X509_FILETYPE_DEFAULT);
        }
        ERR_clear_error();
        err = hsts_cert_verify_once(store, u, &depth);
    }
    if (err == X509_V_OK) {
        u->verify = 1;
        return;
    }
    u->why = apr_psprintf(lo->p, "%s (depth %d)%s",
                          X509_verify_cert_error_string(err), depth,
                          hsts_cert_verify_hint(err));
}

/* -- what each server presents ----------------------------------------- */

static const hsts_cert_said *hsts_cert_said_of(hsts_lockout *lo,
                                               const server_rec *s)
{
    hsts_cert_vkey key;

    if (!s->defn_name) {
        return NULL;
    }
    memset(&key, 0, sizeof(key));
    key.file = s->defn_name;
    key.line = s->defn_line_number;
    return apr_hash_get(lo->vhosts, &key, sizeof(key));
}

/* mod_md keeps a domain's certificates, chain included, in
 * STORE/domains/NAME/pubcert.pem, and one pubcert.SPEC.pem per further
 * key type. */
static void hsts_cert_md_files(hsts_lockout *lo, hsts_certs *c)
{
    apr_dir_t *dir;
    apr_finfo_t fi;

    c->md_dir = ap_server_root_relative(lo->p, apr_pstrcat(
        lo->p, lo->md_store ? lo->md_store : "md", "/domains/", c->md,
        NULL));
    if (!c->md_dir || apr_dir_open(&dir, c->md_dir, lo->p) != APR_SUCCESS) {
        return;
    }
    while (apr_dir_read(&fi, APR_FINFO_NAME, dir) == APR_SUCCESS) {
        apr_size_t n = strlen(fi.name);

        if (!strncmp(fi.name, "pubcert", 7)
            && n >= 11 && !strcmp(fi.name + n - 4, ".pem")) {
            APR_ARRAY_PUSH(c->uses, hsts_cert_use *) = hsts_cert_use_get(
                lo, apr_pstrcat(lo->p, c->md_dir, "/", fi.name, NULL),
                NULL, "MDomain");
        }
    }
    apr_dir_close(dir);
}

static const char *hsts_cert_md_of(hsts_lockout *lo, const server_rec *s)
{
    const char *md = NULL;
    int i;

    if (!apr_hash_count(lo->mds)) {
        return NULL;
    }
    if (s->server_hostname) {
        md = apr_hash_get(lo->mds, hsts_cert_lower(lo->p, s->server_hostname),
                          APR_HASH_KEY_STRING);
    }
    for (i = 0; !md && s->names && i < s->names->nelts; i++) {
        md = apr_hash_get(lo->mds, hsts_cert_lower(
                              lo->p, APR_ARRAY_IDX(s->names, i, const char *)),
                          APR_HASH_KEY_STRING);
    }
    return md;
}

static void hsts_cert_add(hsts_lockout *lo, hsts_certs *c,
                          const hsts_cert_src *src, const char *chain)
{
    if (!ap_cstr_casecmpn(src->file, "pkcs11:", 7)) {
        c->unread = apr_psprintf(lo->p, "%s %s is not a file", src->directive,
                                 src->file);
        return;
    }
    APR_ARRAY_PUSH(c->uses, hsts_cert_use *) = hsts_cert_use_get(
        lo, src->file, chain, src->directive);
}

static const hsts_certs *hsts_certs_of(hsts_lockout *lo, server_rec *s)
{
    hsts_certs *c = apr_hash_get(lo->servers, &s, sizeof(s));
    const hsts_cert_said *v = hsts_cert_said_of(lo, s);
    const apr_array_header_t *add = v && v->ssl ? v->ssl : lo->no_certs;
    const apr_array_header_t *base = lo->main.ssl ? lo->main.ssl
                                                  : lo->no_certs;
    const apr_array_header_t *other;
    const char *chain = v && v->chain ? v->chain : lo->main.chain;
    int i, j, n;

    if (c) {
        return c;
    }
    c = apr_pcalloc(lo->p, sizeof(*c));
    c->uses = apr_array_make(lo->p, 2, sizeof(hsts_cert_use *));
    apr_hash_set(lo->servers, apr_pmemdup(lo->p, &s, sizeof(s)), sizeof(s),
                 c);
    /* mod_ssl's merge: the vhost's first lines take the main server's
     * slots, the main server's other lines follow, then the vhost's */
    for (i = 0; i < add->nelts && i < HSTS_CERT_SLOTS; i++) {
        hsts_cert_add(lo, c, &APR_ARRAY_IDX(add, i, hsts_cert_src), chain);
    }
    for (j = i; add != base && j < base->nelts; j++) {
        hsts_cert_add(lo, c, &APR_ARRAY_IDX(base, j, hsts_cert_src), chain);
    }
    for (; i < add->nelts; i++) {
        hsts_cert_add(lo, c, &APR_ARRAY_IDX(add, i, hsts_cert_src), chain);
    }
    /* one certificate per key type: a later one replaces an earlier */
    for (i = n = 0; i < c->uses->nelts; i++) {
        hsts_cert_use *u = APR_ARRAY_IDX(c->uses, i, hsts_cert_use *);

        for (j = i + 1; !u->cf->error && j < c->uses->nelts; j++) {
            const hsts_cert_use *w = APR_ARRAY_IDX(c->uses, j,
                                                   hsts_cert_use *);

            if (!w->cf->error && w->cf->key_type == u->cf->key_type) {
                break;
            }
        }
        if (u->cf->error || j == c->uses->nelts) {
            APR_ARRAY_IDX(c->uses, n++, hsts_cert_use *) = u;
        }
    }
    c->uses->nelts = n;
    other = v && v->other ? v->other : lo->main.other;
    for (i = 0; other && i < other->nelts; i++) {
        hsts_cert_add(lo, c, &APR_ARRAY_IDX(other, i, hsts_cert_src), NULL);
    }
    if (!c->uses->nelts && !c->unread && (c->md = hsts_cert_md_of(lo, s))) {
        hsts_cert_md_files(lo, c);
    }
    return c;
}

/* -- which names are pinned, and who answers for them ------------------ */

/* The policy a server pins its names with: the target of a roll-out
 * counts, max-age=0 (revocation) pins nothing. */
static const hsts_rule *hsts_cert_pins(hsts_check *ck, server_rec *s)
{
    const hsts_dir_conf *dc = ap_get_module_config(s->lookup_defaults,
                                                   &hsts_module);
    const hsts_rule *rule = dc ? dc->rule : NULL;

    return rule && rule->header && rule->policy.max_age > 0
           && hsts_is_tls(ck, s) ? rule : NULL;
}

static void hsts_cert_index_name(hsts_lockout *lo, server_rec *s,
                                 const char *name, int wild)
{
    const char *l = hsts_cert_lower(lo->p, name);

    if (!wild) {
        apr_hash_set(lo->tls_names, l, APR_HASH_KEY_STRING, s);
    }
    else if (l[0] == '*' && !strpbrk(l + 1, "*?")) {
        apr_hash_set(lo->tls_stars, l + 1, APR_HASH_KEY_STRING, s);
    }
    else {
        hsts_cert_pattern *cp = apr_array_push(lo->tls_patterns);

        cp->pattern = l;
        cp->s = s;
    }
}

/* httpd keeps the vhosts last first: walking them so, a later entry
 * replaces an earlier one and the first vhost in the configuration that
 * has a name keeps it, as httpd would pick it. */
static void hsts_cert_index(hsts_check *ck, hsts_lockout *lo)
{
    server_rec *s;
    int i;

    for (s = ck->main; s; s = s->next) {
        const hsts_rule *rule;

        if (!hsts_is_tls(ck, s)) {
            continue;
        }
        if (s->server_hostname) {
            hsts_cert_index_name(lo, s, s->server_hostname, 0);
        }
        for (i = 0; s->names && i < s->names->nelts; i++) {
            hsts_cert_index_name(lo, s, APR_ARRAY_IDX(s->names, i,
                                                      const char *), 0);
        }
        for (i = 0; s->wild_names && i < s->wild_names->nelts; i++) {
            hsts_cert_index_name(lo, s, APR_ARRAY_IDX(s->wild_names, i,
                                                      const char *), 1);
        }
        rule = hsts_cert_pins(ck, s);
        if (!rule || !rule->policy.include_subdomains) {
            continue;
        }
        if (s->server_hostname
            && !hsts_host_is_exempt(s->server_hostname)) {
            apr_hash_set(lo->pinned, hsts_cert_lower(lo->p,
                                                     s->server_hostname),
                         APR_HASH_KEY_STRING, s);
        }
        for (i = 0; s->names && i < s->names->nelts; i++) {
            const char *n = APR_ARRAY_IDX(s->names, i, const char *);

            if (!hsts_host_is_exempt(n)) {
                apr_hash_set(lo->pinned, hsts_cert_lower(lo->p, n),
                             APR_HASH_KEY_STRING, s);
            }
        }
    }
}

/* The TLS vhost whose includeSubDomains pins `l` (lower-case; a pattern
 * is pinned when all it can match is). */
static server_rec *hsts_cert_pinned_by(const hsts_lockout *lo, const char *l,
                                       int wild)
{
    const char *c = l;
    server_rec *s;

    if (wild) {
        const char *w = l + strlen(l);

        while (w > l && w[-1] != '*' && w[-1] != '?') {
            w--;
        }
        if (!(c = strchr(w, '.'))) {
            return NULL;
        }
        c++;
    }
    for (; c; c = strchr(c, '.') ? strchr(c, '.') + 1 : NULL) {
        if ((s = apr_hash_get(lo->pinned, c, APR_HASH_KEY_STRING))) {
            return s;
        }
    }
    return NULL;
}

/* The TLS vhost that answers for `l` (lower-case name or pattern). */
static server_rec *hsts_cert_answers(const hsts_lockout *lo, const char *l,
                                     int wild)
{
    server_rec *s;
    const char *c;
    int i;

    if (!wild
        && (s = apr_hash_get(lo->tls_names, l, APR_HASH_KEY_STRING))) {
        return s;
    }
    for (c = l; apr_hash_count(lo->tls_stars); c++) {
        if ((s = apr_hash_get(lo->tls_stars, c, APR_HASH_KEY_STRING))) {
            return s;
        }
        if (!*c) {
            break;
        }
    }
    for (i = lo->tls_patterns->nelts - 1; i >= 0; i--) {
        const hsts_cert_pattern *cp = &APR_ARRAY_IDX(lo->tls_patterns, i,
                                                     hsts_cert_pattern);

        if (!ap_strcasecmp_match(l, cp->pattern)) {
            return cp->s;
        }
    }
    return NULL;
}

static hsts_lockout *hsts_lockout_get(hsts_check *ck)
{
    const hsts_srv_conf *sc = ap_get_module_config(ck->main->module_config,
                                                   &hsts_module);
    hsts_lockout *lo = ck->lockout;

    if (lo) {
        return lo;
    }
    lo = ck->lockout = apr_pcalloc(ck->pool, sizeof(*lo));
    lo->p = ck->pool;
    lo->mode = sc->lockout ? sc->lockout->mode : HSTS_PRELOAD_WARN;
    lo->ca = sc->lockout ? sc->lockout->ca : NULL;
    lo->expiry = sc->lockout && sc->lockout->expiry_days != HSTS_UNSET
                 ? sc->lockout->expiry_days : HSTS_LOCKOUT_EXPIRY_DAYS;
    lo->vhosts = apr_hash_make(lo->p);
    lo->no_certs = apr_array_make(lo->p, 1, sizeof(hsts_cert_src));
    lo->mds = apr_hash_make(lo->p);
    lo->files = apr_hash_make(lo->p);
    lo->uses = apr_hash_make(lo->p);
    lo->servers = apr_hash_make(lo->p);
    lo->tls_names = apr_hash_make(lo->p);
    lo->tls_stars = apr_hash_make(lo->p);
    lo->tls_patterns = apr_array_make(lo->p, 4, sizeof(hsts_cert_pattern));
    lo->pinned = apr_hash_make(lo->p);
    lo->told = apr_hash_make(lo->p);
    apr_pool_cleanup_register(lo->p, lo, hsts_cert_cleanup,
                              apr_pool_cleanup_null);
    hsts_cert_walk(lo, ap_conftree, &lo->main);
    hsts_cert_index(ck, lo);
    return lo;
}

/* -- findings ----------------------------------------------------------- */

/* A finding the caller counted with hsts_tell() first: the text is made
 * only for the findings told in full. */
static void hsts_cert_say(hsts_check *ck, server_rec *s, const char *kind,
                          int level, const char *text)
{
    hsts_say(ck, s, kind, level, ck->out ? NULL : hsts_vhost_name(ck->p, s),
             text);
}

static const char *hsts_cert_names(apr_pool_t *p, const hsts_cert_file *cf)
{
    return cf->names->nelts ? apr_array_pstrcat(p, cf->names, ',')
                            : "none: no subjectAltName DNS entry, and "
                              "browsers ignore the subject's CN";
}

/* Why a name of `s` is pinned: the policy of `pin` and where it is. */
static const char *hsts_cert_why(hsts_check *ck, server_rec *s,
                                 server_rec *pin)
{
    const hsts_rule *rule = hsts_cert_pins(ck, pin);

    return apr_psprintf(ck->p, "pinned by \"%s\" (%s:%d)%s%s",
                        rule->header, rule->where.file, rule->where.line,
                        pin == s ? "" : " under ",
                        pin == s ? "" : pin->server_hostname);
}

/* Whether a subjectAltName DNS name of cf covers lower-case name l. */
static int hsts_cert_covers(const hsts_cert_file *cf, const char *l)
{
    int i;

    for (i = 0; i < cf->names->nelts; i++) {
        if (hsts_dns_covers(APR_ARRAY_IDX(cf->names, i, const char *), l)) {
            return 1;
        }
    }
    return 0;
}

static void hsts_cert_check_name(hsts_check *ck, hsts_lockout *lo,
                                 server_rec *s, const char *name, int wild,
                                 server_rec *pin)
{
    const char *l = hsts_cert_lower(ck->p, name);
    server_rec *t = hsts_cert_answers(lo, l, wild);
    const hsts_certs *c;
    int i;

    /* the vhost that has the name checks it on its own line */
    if (t && t != s && !wild
        && apr_hash_get(lo->tls_names, l, APR_HASH_KEY_STRING) == t) {
        return;
    }
    if (!ck->out) {
        if (apr_hash_get(lo->told, l, APR_HASH_KEY_STRING)) {
            return;
        }
        /* ck->p is the check's own pool when logging: l lives as long */
        apr_hash_set(lo->told, l, APR_HASH_KEY_STRING, lo);
    }
    if (!t) {
        if (hsts_tell(ck, "lockout-not-served", HSTS_PROBLEM)) {
            hsts_cert_say(ck, s, "lockout-not-served", HSTS_PROBLEM,
                apr_psprintf(ck->p, "%s is %s, but no TLS virtual host "
                             "answers for it: browsers that got the header "
                             "refuse http://%s/ and there is no https://%s/ "
                             "to go to; serve it in a TLS vhost (ServerName "
                             "or ServerAlias) or drop includeSubDomains",
                             name, hsts_cert_why(ck, s, pin), name, name));
        }
        return;
    }
    c = hsts_certs_of(lo, t);
    for (i = 0; i < c->uses->nelts; i++) {
        const hsts_cert_use *u = APR_ARRAY_IDX(c->uses, i, hsts_cert_use *);

        if (u->cf->error) {
            continue;
        }
        if (!hsts_cert_covers(u->cf, l)
            && hsts_tell(ck, "lockout-name-not-covered", HSTS_PROBLEM)) {
            hsts_cert_say(ck, s, "lockout-name-not-covered", HSTS_PROBLEM,
                apr_psprintf(ck->p, "%s is %s, and the certificate %s%s%s "
                             "does not cover it (its names: %s): with HSTS, "
                             "browsers give users no way past the name "
                             "error", name, hsts_cert_why(ck, s, pin),
                             u->cf->path, t == s ? "" : " of ",
                             t == s ? "" : hsts_vhost_name(ck->p, t),
                             hsts_cert_names(ck->p, u->cf)));
        }
    }
}

static void hsts_cert_check_use(hsts_check *ck, hsts_lockout *lo,
                                server_rec *s, hsts_cert_use *u, long long now)
{
    const hsts_cert_file *cf = u->cf;
    long long left;
    const char *f = cf->path, *weak;

    if (!ck->out) {
        if (u->told) {
            return;
        }
        u->told = 1;
    }
    if ((cf->error || (u->chain && u->chain->error))
        && hsts_tell(ck, "lockout-unreadable", HSTS_PROBLEM)) {
        const hsts_cert_file *bad = cf->error ? cf : u->chain;

        hsts_cert_say(ck, s, "lockout-unreadable", HSTS_PROBLEM,
                      apr_psprintf(ck->p, "the certificate file %s %s",
                                   bad->path, bad->error));
    }
    if (cf->error) {
        return;
    }
    switch (hsts_validity(cf->not_before, cf->not_after, now, lo->expiry,
                          &left)) {
    case HSTS_VALID_EXPIRED:
        if (hsts_tell(ck, "lockout-expired", HSTS_PROBLEM)) {
            hsts_cert_say(ck, s, "lockout-expired", HSTS_PROBLEM,
                apr_psprintf(ck->p, "the certificate %s expired on %s: with "
                             "HSTS, browsers give users no way past the "
                             "error", f, cf->until));
        }
        break;
    case HSTS_VALID_NOT_YET:
        if (hsts_tell(ck, "lockout-not-yet-valid", HSTS_PROBLEM)) {
            hsts_cert_say(ck, s, "lockout-not-yet-valid", HSTS_PROBLEM,
                apr_psprintf(ck->p, "the certificate %s is not valid before "
                             "%s: with HSTS, browsers give users no way past "
                             "the error", f, cf->from));
        }
        break;
    case HSTS_VALID_EXPIRING:
        if (hsts_tell(ck, "lockout-expiring", HSTS_WARNING)) {
            hsts_cert_say(ck, s, "lockout-expiring", HSTS_WARNING,
                apr_psprintf(ck->p, "the certificate %s expires on %s, in %"
                             APR_INT64_T_FMT " day(s) (expiry=%d): renew it "
                             "before then", f, cf->until, (apr_int64_t)left,
                             lo->expiry));
        }
        break;
    default:
        break;
    }
    hsts_cert_verify(lo, u);
    if (!u->verify && hsts_tell(ck, "lockout-chain", HSTS_PROBLEM)) {
        hsts_cert_say(ck, s, "lockout-chain", HSTS_PROBLEM,
                      apr_psprintf(ck->p, "the certificate %s (issuer %s) "
                                   "does not verify: %s", f, cf->issuer,
                                   u->why));
    }
    weak = u->verify == 1 ? u->weak_sig : cf->weak_digest;
    if (weak && hsts_tell(ck, "lockout-weak-signature", HSTS_PROBLEM)) {
        hsts_cert_say(ck, s, "lockout-weak-signature", HSTS_PROBLEM,
                      apr_psprintf(ck->p, "the certificate %s%s has a "
                                   "signature made with %s: browsers, and "
                                   "the preload list, refuse it", f,
                                   u->verify == 1 ? " or its chain" : "",
                                   weak));
    }
    if (cf->weak_rsa && hsts_tell(ck, "lockout-weak", HSTS_HINT)) {
        hsts_cert_say(ck, s, "lockout-weak", HSTS_HINT,
                      apr_psprintf(ck->p, "the certificate %s has a key "
                                   "(%s) below 2048 bits: browsers are "
                                   "dropping such keys", f, cf->key));
    }
}

void hsts_lockout_vhost(hsts_check *ck, server_rec *s)
{
    const apr_array_header_t *lists[2];
    hsts_lockout *lo;
    const hsts_certs *c;
    server_rec *own;
    long long now = apr_time_sec(apr_time_now());
    int pinned = 0, l, i;

    if (ck->modes[HSTS_CHECK_LOCKOUT] == HSTS_PRELOAD_OFF) {
        return;
    }
    lo = hsts_lockout_get(ck);
    own = hsts_cert_pins(ck, s) ? s : NULL;
    if (s->server_hostname && !hsts_host_is_exempt(s->server_hostname)) {
        server_rec *pin = own ? own : hsts_cert_pinned_by(
            lo, hsts_cert_lower(ck->p, s->server_hostname), 0);

        if (pin) {
            pinned = 1;
            hsts_cert_check_name(ck, lo, s, s->server_hostname, 0, pin);
        }
    }
    lists[0] = s->names;
    lists[1] = s->wild_names;
    for (l = 0; l < 2; l++) {
        for (i = 0; lists[l] && i < lists[l]->nelts; i++) {
            const char *n = APR_ARRAY_IDX(lists[l], i, const char *);
            server_rec *pin;

            if (hsts_host_is_exempt(n)) {
                continue;
            }
            pin = own ? own : hsts_cert_pinned_by(
                lo, hsts_cert_lower(ck->p, n), l);
            if (pin) {
                pinned = 1;
                hsts_cert_check_name(ck, lo, s, n, l, pin);
            }
        }
    }
    if (!pinned || !hsts_is_tls(ck, s)) {
        return;
    }
    c = hsts_certs_of(lo, s);
    for (i = 0; i < c->uses->nelts; i++) {
        hsts_cert_check_use(ck, lo, s,
                            APR_ARRAY_IDX(c->uses, i, hsts_cert_use *), now);
    }
    if (c->unread && hsts_tell(ck, "lockout-unread", HSTS_HINT)) {
        hsts_cert_say(ck, s, "lockout-unread", HSTS_HINT,
                      apr_psprintf(ck->p, "%s: not checked", c->unread));
    }
    if (c->md && !c->uses->nelts
        && hsts_tell(ck, "lockout-md-unchecked", HSTS_HINT)) {
        hsts_cert_say(ck, s, "lockout-md-unchecked", HSTS_HINT,
                      apr_psprintf(ck->p, "the certificate comes from mod_md "
                                   "(MDomain %s) and its store has none yet "
                                   "in %s: not checked", c->md,
                                   c->md_dir ? c->md_dir : "(no store)"));
    }
}

/* -- for the preload checks ------------------------------------------------ */

const char *hsts_lockout_serves(hsts_check *ck, server_rec *s,
                                const char *name)
{
    hsts_lockout *lo = hsts_lockout_get(ck);
    const hsts_certs *c = hsts_certs_of(lo, s);
    long long now = apr_time_sec(apr_time_now());
    const char *l = hsts_cert_lower(ck->p, name), *why = NULL;
    int i, v;

    for (i = 0; i < c->uses->nelts; i++) {
        hsts_cert_use *u = APR_ARRAY_IDX(c->uses, i, hsts_cert_use *);
        const hsts_cert_file *cf = u->cf;

        if (cf->error) {
            why = apr_psprintf(ck->p, "%s: %s", cf->path, cf->error);
            continue;
        }
        if (!hsts_cert_covers(cf, l)) {
            why = apr_psprintf(ck->p, "%s does not cover %s (its names: "
                               "%s)", cf->path, name,
                               hsts_cert_names(ck->p, cf));
            continue;
        }
        v = hsts_validity(cf->not_before, cf->not_after, now, 0, NULL);
        if (v == HSTS_VALID_EXPIRED || v == HSTS_VALID_NOT_YET) {
            why = apr_psprintf(ck->p, "%s is not valid now (%s to %s)",
                               cf->path, cf->from, cf->until);
            continue;
        }
        hsts_cert_verify(lo, u);
        if (u->verify != 1 || u->weak_sig) {
            why = apr_psprintf(ck->p, "%s does not verify: %s", cf->path,
                               u->verify != 1 ? u->why
                                              : apr_pstrcat(ck->p, "a "
                                                "signature made with ",
                                                u->weak_sig, NULL));
            continue;
        }
        return NULL;
    }
    return why ? why : "it has no certificate this server could read";
}

/* -- DUMP_HSTS and hsts-status ----------------------------------------- */

hsts_cert_info *hsts_lockout_certs(hsts_check *ck, server_rec *s,
                                   apr_pool_t *p)
{
    hsts_cert_info *first = NULL, **next = &first;
    hsts_lockout *lo;
    const hsts_certs *c;
    int i, j;

    if (!hsts_is_tls(ck, s)) {
        return NULL;
    }
    lo = hsts_lockout_get(ck);
    c = hsts_certs_of(lo, s);
    for (i = 0; i < c->uses->nelts; i++) {
        hsts_cert_use *u = APR_ARRAY_IDX(c->uses, i, hsts_cert_use *);
        const hsts_cert_file *cf = u->cf;
        hsts_cert_info *ci = apr_pcalloc(p, sizeof(*ci));

        ci->file = apr_pstrdup(p, cf->path);
        ci->directive = apr_pstrdup(p, u->directive);
        ci->chain_file = u->chain ? apr_pstrdup(p, u->chain->path) : NULL;
        *next = ci;
        next = &ci->next;
        if (cf->error) {
            ci->error = apr_pstrdup(p, cf->error);
            continue;
        }
        ci->names = apr_array_make(p, cf->names->nelts, sizeof(char *));
        for (j = 0; j < cf->names->nelts; j++) {
            APR_ARRAY_PUSH(ci->names, const char *)
                = apr_pstrdup(p, APR_ARRAY_IDX(cf->names, j, const char *));
        }
        ci->not_before = cf->not_before;
        ci->not_after = cf->not_after;
        ci->issuer = apr_pstrdup(p, cf->issuer);
        ci->key = apr_pstrdup(p, cf->key);
        hsts_cert_verify(lo, u);
        ci->verified = u->verify == 1;
        ci->verify_error = ci->verified ? NULL : apr_pstrdup(p, u->why);
    }
    return first;
}
