/* The mesh CA of the host platform, with OpenSSL's library (EVP keys, X509): a
 * self-signed EC P-256 authority, and workload certificates that carry the workload's
 * SPIFFE ID as their only URI SAN (first in the SAN, so proxies can match its encoding)
 * plus the DNS names of the Services it serves. Keys are written 0600. */
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <string.h>
#include <time.h>

#include "host.h"

#define CA_DAYS (10 * 365)
#define CERT_DAYS 365
#define RENEW_BEFORE_S (30L * 24 * 3600)

struct mp__hca {
  EVP_PKEY *key;
  X509 *cert;
};

static mp_status ssl_error(const char *what) {
  unsigned long e = ERR_get_error();
  char buf[256] = "";
  if (e) ERR_error_string_n(e, buf, sizeof buf);
  ERR_clear_error();
  return mp_error_set(MP_ERR_INTERNAL, "%s: %s", what, *buf ? buf : "OpenSSL error");
}

static mp_status write_pem(const char *path, bool is_key, EVP_PKEY *key, X509 *cert) {
  BIO *b = BIO_new(BIO_s_mem());
  int ok = is_key ? PEM_write_bio_PrivateKey(b, key, NULL, NULL, 0, NULL, NULL)
                  : PEM_write_bio_X509(b, cert);
  if (!ok) {
    BIO_free(b);
    return ssl_error("cannot encode PEM");
  }
  char *data;
  long len = BIO_get_mem_data(b, &data);
  mp_status st = mp__hfile_write(path, data, (size_t)len, is_key ? 0600 : 0644);
  BIO_free(b);
  return st;
}

static EVP_PKEY *read_key(const char *path) {
  BIO *b = BIO_new_file(path, "r");
  if (!b) {
    ERR_clear_error();
    return NULL;
  }
  EVP_PKEY *k = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL);
  BIO_free(b);
  ERR_clear_error();
  return k;
}

static X509 *read_cert(const char *path) {
  BIO *b = BIO_new_file(path, "r");
  if (!b) {
    ERR_clear_error();
    return NULL;
  }
  X509 *x = PEM_read_bio_X509(b, NULL, NULL, NULL);
  BIO_free(b);
  ERR_clear_error();
  return x;
}

static bool add_ext(X509 *x, X509 *issuer, int nid, const char *value) {
  X509V3_CTX v3;
  X509V3_set_ctx(&v3, issuer, x, NULL, NULL, 0);
  X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, &v3, nid, value);
  if (!e) return false;
  bool ok = X509_add_ext(x, e, -1) == 1;
  X509_EXTENSION_free(e);
  return ok;
}

/* A certificate with a random 127-bit serial, valid from an hour ago for days. */
static X509 *new_cert(EVP_PKEY *pub, long days) {
  X509 *x = X509_new();
  BIGNUM *bn = BN_new();
  bool ok = x && bn && X509_set_version(x, 2) &&
            BN_rand(bn, 127, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) &&
            BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) &&
            X509_gmtime_adj(X509_getm_notBefore(x), -3600) &&
            X509_gmtime_adj(X509_getm_notAfter(x), days * 24 * 3600) && X509_set_pubkey(x, pub);
  BN_free(bn);
  if (!ok) {
    X509_free(x);
    return NULL;
  }
  return x;
}

static bool set_name(X509_NAME *n, const char *o, const char *ou, const char *cn) {
  const struct { const char *field, *value; } parts[] = {{"O", o}, {"OU", ou}, {"CN", cn}};
  for (size_t i = 0; i < MP_ARRAY_LEN(parts); i++)
    if (parts[i].value &&
        !X509_NAME_add_entry_by_txt(n, parts[i].field, MBSTRING_UTF8,
                                    (const unsigned char *)parts[i].value, -1, -1, 0))
      return false;
  return true;
}

mp_status mp__hca_create(const char *dir, const char *trust_domain, mp__hca **out) {
  *out = NULL;
  EVP_PKEY *key = EVP_EC_gen("P-256");
  if (!key) return ssl_error("cannot generate the CA key");
  X509 *x = new_cert(key, CA_DAYS);
  char *cn = mp_asprintf("meshplane mesh CA (%s)", trust_domain);
  bool ok = x && set_name(X509_get_subject_name(x), "meshplane", NULL, cn) &&
            X509_set_issuer_name(x, X509_get_subject_name(x)) &&
            add_ext(x, x, NID_basic_constraints, "critical,CA:TRUE,pathlen:0") &&
            add_ext(x, x, NID_key_usage, "critical,keyCertSign,cRLSign") &&
            add_ext(x, x, NID_subject_key_identifier, "hash") &&
            X509_sign(x, key, EVP_sha256()) > 0;
  mp_free(cn);
  mp_status st = ok ? MP_OK : ssl_error("cannot make the CA certificate");
  char *kp = mp_asprintf("%s/ca.key", dir), *cp = mp_asprintf("%s/ca.crt", dir);
  if (st == MP_OK) st = write_pem(kp, true, key, NULL);
  if (st == MP_OK) st = write_pem(cp, false, NULL, x);
  mp_free(kp);
  mp_free(cp);
  if (st != MP_OK) {
    X509_free(x);
    EVP_PKEY_free(key);
    return st;
  }
  mp__hca *ca = mp_calloc(1, sizeof *ca);
  ca->key = key;
  ca->cert = x;
  *out = ca;
  return MP_OK;
}

mp_status mp__hca_load(const char *dir, mp__hca **out) {
  *out = NULL;
  char *kp = mp_asprintf("%s/ca.key", dir), *cp = mp_asprintf("%s/ca.crt", dir);
  EVP_PKEY *key = read_key(kp);
  X509 *x = read_cert(cp);
  mp_status st = MP_OK;
  if (!key || !x || X509_check_private_key(x, key) != 1)
    st = mp_error_set(MP_ERR_INVALID, "the mesh CA in %s is missing or damaged (%s, %s)", dir, kp,
                      cp);
  ERR_clear_error();
  mp_free(kp);
  mp_free(cp);
  if (st != MP_OK) {
    EVP_PKEY_free(key);
    X509_free(x);
    return st;
  }
  mp__hca *ca = mp_calloc(1, sizeof *ca);
  ca->key = key;
  ca->cert = x;
  *out = ca;
  return MP_OK;
}

void mp__hca_free(mp__hca *ca) {
  if (!ca) return;
  EVP_PKEY_free(ca->key);
  X509_free(ca->cert);
  mp_free(ca);
}

char *mp__hca_fingerprint(const mp__hca *ca) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  X509_digest(ca->cert, EVP_sha256(), md, &n);
  mp_buf b = {0};
  mp_buf_puts(&b, "sha256:");
  for (unsigned i = 0; i < n; i++) mp_buf_printf(&b, "%02x", md[i]);
  return mp_buf_steal(&b);
}

static bool push_name(GENERAL_NAMES *g, int type, const char *value) {
  GENERAL_NAME *n = GENERAL_NAME_new();
  ASN1_IA5STRING *s = ASN1_IA5STRING_new();
  if (!n || !s || !ASN1_STRING_set(s, value, (int)strlen(value))) {
    GENERAL_NAME_free(n);
    ASN1_IA5STRING_free(s);
    return false;
  }
  GENERAL_NAME_set0_value(n, type, s);
  if (!sk_GENERAL_NAME_push(g, n)) {
    GENERAL_NAME_free(n);
    return false;
  }
  return true;
}

mp_status mp__hca_issue(const mp__hca *ca, const char *uri, const char *const *dns,
                        const char *key_path, const char *cert_path) {
  EVP_PKEY *key = read_key(key_path);
  bool new_key = key == NULL;
  if (!key && !(key = EVP_EC_gen("P-256"))) return ssl_error("cannot generate a workload key");
  X509 *x = new_cert(key, CERT_DAYS);
  GENERAL_NAMES *g = sk_GENERAL_NAME_new_null();
  bool ok = x && g && push_name(g, GEN_URI, uri);
  for (size_t i = 0; ok && dns && dns[i]; i++) ok = push_name(g, GEN_DNS, dns[i]);
  const char *cn = strrchr(uri, '/');
  ok = ok && set_name(X509_get_subject_name(x), "meshplane", NULL, cn ? cn + 1 : uri) &&
       X509_set_issuer_name(x, X509_get_subject_name(ca->cert)) &&
       add_ext(x, ca->cert, NID_basic_constraints, "critical,CA:FALSE") &&
       add_ext(x, ca->cert, NID_key_usage, "critical,digitalSignature,keyEncipherment") &&
       add_ext(x, ca->cert, NID_ext_key_usage, "serverAuth,clientAuth") &&
       add_ext(x, ca->cert, NID_subject_key_identifier, "hash") &&
       add_ext(x, ca->cert, NID_authority_key_identifier, "keyid:always") &&
       X509_add1_ext_i2d(x, NID_subject_alt_name, g, 0, X509V3_ADD_DEFAULT) == 1 &&
       X509_sign(x, ca->key, EVP_sha256()) > 0;
  GENERAL_NAMES_free(g);
  mp_status st = ok ? MP_OK : ssl_error("cannot issue a workload certificate");
  if (st == MP_OK && new_key) st = write_pem(key_path, true, key, NULL);
  if (st == MP_OK) st = write_pem(cert_path, false, NULL, x);
  X509_free(x);
  EVP_PKEY_free(key);
  return st;
}

/* The SANs of x: the URI (first one) and the DNS names, as "dns1\ndns2\n" sorted input
 * order; false when there is no SAN. */
static bool sans(X509 *x, char **uri, mp_buf *dns) {
  GENERAL_NAMES *g = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
  if (!g) return false;
  *uri = NULL;
  for (int i = 0; i < sk_GENERAL_NAME_num(g); i++) {
    GENERAL_NAME *n = sk_GENERAL_NAME_value(g, i);
    int type;
    ASN1_IA5STRING *s = GENERAL_NAME_get0_value(n, &type);
    const char *v = (const char *)ASN1_STRING_get0_data(s);
    size_t len = (size_t)ASN1_STRING_length(s);
    if (type == GEN_URI && !*uri) {
      *uri = mp_strndup(v, len);
    } else if (type == GEN_DNS && dns) {
      mp_buf_append(dns, v, len);
      mp_buf_puts(dns, "\n");
    }
  }
  GENERAL_NAMES_free(g);
  return true;
}

char *mp__hcert_uri(const char *cert_path) {
  X509 *x = read_cert(cert_path);
  char *uri = NULL;
  if (x && !sans(x, &uri, NULL)) uri = NULL;
  X509_free(x);
  return uri;
}

bool mp__hca_cert_ok(const mp__hca *ca, const char *cert_path, const char *key_path,
                     const char *uri, const char *const *dns) {
  X509 *x = read_cert(cert_path);
  EVP_PKEY *key = x ? read_key(key_path) : NULL;
  bool ok = x && key && X509_check_private_key(x, key) == 1 &&
            X509_verify(x, X509_get0_pubkey(ca->cert)) == 1;
  time_t soon = time(NULL) + RENEW_BEFORE_S;
  ok = ok && X509_cmp_time(X509_get0_notAfter(x), &soon) > 0;
  char *have_uri = NULL;
  mp_buf have = {0};
  ok = ok && sans(x, &have_uri, &have) && have_uri && !strcmp(have_uri, uri);
  size_t want_n = 0, have_n = 0;
  for (const char *p = have.data; ok && p && *p; p = strchr(p, '\n') + 1) have_n++;
  for (size_t i = 0; ok && dns && dns[i]; i++) {
    want_n++;
    char *line = mp_asprintf("%s\n", dns[i]);
    bool found = false;
    for (const char *p = have.data; p && *p && !found; p = strchr(p, '\n') + 1)
      found = !strncmp(p, line, strlen(line));
    ok = found;
    mp_free(line);
  }
  ok = ok && want_n == have_n;
  mp_free(have_uri);
  mp_buf_free(&have);
  X509_free(x);
  EVP_PKEY_free(key);
  ERR_clear_error();
  return ok;
}

void mp_adapter_host_uri_der(const char *uri, mp_buf *out) {
  mp_buf_reset(out);
  size_t n = strlen(uri);
  unsigned char hdr[4] = {0x86};
  size_t h = 1;
  if (n < 0x80) {
    hdr[h++] = (unsigned char)n;
  } else if (n < 0x100) {
    hdr[h++] = 0x81;
    hdr[h++] = (unsigned char)n;
  } else {
    hdr[h++] = 0x82;
    hdr[h++] = (unsigned char)(n >> 8);
    hdr[h++] = (unsigned char)n;
  }
  mp_buf_append(out, hdr, h);
  mp_buf_append(out, uri, n);
}
