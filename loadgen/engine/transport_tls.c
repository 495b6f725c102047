/* TLS over the plain TCP connect, with OpenSSL: https:// (and grpcs://) endpoints.
 *
 * One SSL_CTX per endpoint, made before the run from the run's options: the CAs to trust
 * (the system's, or the PEM text of the spec), the name to verify (the URL's host, or the
 * spec's SNI name), ALPN from the endpoint's protocol, or no verification at all when
 * insecure. The handshake runs inside the event loop, non-blocking (the loop calls
 * handshake() on every readiness event until it is done), and its failures come back as
 * connect errors with OpenSSL's reason ("certificate verify failed: unable to get local
 * issuer certificate").
 *
 * System calls: the SSL reads and writes through a tiny BIO of our own over the socket,
 * so that it knows when a recv() came back short. With read-ahead on, OpenSSL asks the
 * BIO for as much as fits its buffer; a short recv() means the socket was drained, and once
 * OpenSSL has nothing buffered either, the read ends without the extra recv() that would
 * only see EAGAIN - the loop's rule "a short read means drained" holds for TLS as well.
 *
 * Sessions: each thread keeps the last resumable session of each endpoint and offers it
 * on the next connection to that endpoint, so reconnects (Connection: close, GOAWAY) make
 * abbreviated handshakes. */
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "internal.h"

/* The endpoint's TLS settings (ep->tls), owned by the endpoint. */
typedef struct tls_ep {
  SSL_CTX *ctx;
  char *name; /* SNI and verified name, NULL for an IP literal without --sni */
} tls_ep;

/* One connection's TLS state (c->xport), from open to close. */
typedef struct tls_conn {
  SSL *ssl;
  int fd;
  int64_t rx_real_ns; /* the kernel's receive time of the last bytes recv() returned */
  bool drained;       /* the last recv() returned less than asked (or EAGAIN) */
  bool broken;        /* a fatal error happened: no close_notify, no session to keep */
} tls_conn;

/* ---- the BIO: recv/send on the connection's socket ------------------------------------ */

static BIO_METHOD *bio_method;
static pthread_once_t bio_once = PTHREAD_ONCE_INIT;

static int bio_read(BIO *b, char *buf, int len) {
  tls_conn *x = BIO_get_data(b);
  BIO_clear_retry_flags(b);
  ssize_t n = mp__tcp_recv(x->fd, buf, (size_t)len, &x->rx_real_ns);
  if (n >= 0) {
    x->drained = n < len;
    return (int)n;
  }
  if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
    x->drained = true;
    BIO_set_retry_read(b);
  }
  return -1;
}

static int bio_write(BIO *b, const char *buf, int len) {
  tls_conn *x = BIO_get_data(b);
  BIO_clear_retry_flags(b);
  ssize_t n = send(x->fd, buf, (size_t)len, MSG_NOSIGNAL);
  if (n >= 0) return (int)n;
  if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) BIO_set_retry_write(b);
  return -1;
}

static long bio_ctrl(BIO *b, int cmd, long num, void *ptr) {
  (void)b, (void)num, (void)ptr;
  return cmd == BIO_CTRL_FLUSH ? 1 : 0;
}

static int bio_create(BIO *b) {
  BIO_set_init(b, 1);
  return 1;
}

static void bio_method_init(void) {
  bio_method = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "meshplane-loadgen");
  if (!bio_method) return;
  BIO_meth_set_read(bio_method, bio_read);
  BIO_meth_set_write(bio_method, bio_write);
  BIO_meth_set_ctrl(bio_method, bio_ctrl);
  BIO_meth_set_create(bio_method, bio_create);
}

/* ---- errors -------------------------------------------------------------------------- */

/* Describes why an SSL call failed, in words a user can act on, and empties the thread's
 * OpenSSL error queue. */
static void describe(SSL *ssl, int err, const char *alpn, char *why, size_t n) {
  unsigned long e = ERR_get_error();
  if (e && ERR_GET_LIB(e) == ERR_LIB_SSL &&
      ERR_GET_REASON(e) == SSL_R_TLSV1_ALERT_NO_APPLICATION_PROTOCOL && alpn) {
    snprintf(why, n, "the server did not agree to %.*s via ALPN (no application protocol)",
             (int)alpn[0], alpn + 1);
  } else if (e && ERR_GET_LIB(e) == ERR_LIB_SSL &&
             ERR_GET_REASON(e) == SSL_R_CERTIFICATE_VERIFY_FAILED) {
    long v = SSL_get_verify_result(ssl);
    snprintf(why, n, "certificate verify failed: %s", X509_verify_cert_error_string(v));
  } else if (e) {
    const char *r = ERR_reason_error_string(e);
    bool plain =
        ERR_GET_LIB(e) == ERR_LIB_SSL && (ERR_GET_REASON(e) == SSL_R_WRONG_VERSION_NUMBER ||
                                          ERR_GET_REASON(e) == SSL_R_PACKET_LENGTH_TOO_LONG);
    snprintf(why, n, "%s%s", r ? r : "TLS error",
             plain ? " (does the server speak TLS on this port?)" : "");
  } else if (err == SSL_ERROR_SYSCALL && errno) {
    snprintf(why, n, "%s", strerror(errno));
  } else {
    snprintf(why, n, "the server closed the connection");
  }
  ERR_clear_error();
}

/* ---- per endpoint ---------------------------------------------------------------------- */

static bool is_ip(const char *s) {
  unsigned char buf[sizeof(struct in6_addr)];
  return inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1;
}

static mp_status ssl_failed(const mp__endpoint *ep, const char *what) {
  char why[256];
  unsigned long e = ERR_get_error();
  ERR_error_string_n(e, why, sizeof why);
  ERR_clear_error();
  return mp_error_set(MP_ERR_INVALID, "%s: %s: %s", ep->url, what, e ? why : "failed");
}

/* Trusts exactly the certificates of a PEM text (like curl --cacert). */
static mp_status load_cas(SSL_CTX *ctx, const char *pem) {
  BIO *b = BIO_new_mem_buf(pem, -1);
  X509_STORE *store = X509_STORE_new();
  if (!b || !store) {
    BIO_free(b);
    X509_STORE_free(store);
    return mp_error_set(MP_ERR_INTERNAL, "out of memory loading the CA certificates");
  }
  int added = 0;
  X509 *cert;
  while ((cert = PEM_read_bio_X509(b, NULL, NULL, NULL)) != NULL) {
    if (X509_STORE_add_cert(store, cert) == 1) added++;
    X509_free(cert);
  }
  ERR_clear_error(); /* the end of the text reads as an error */
  BIO_free(b);
  if (!added) {
    X509_STORE_free(store);
    return mp_error_set(MP_ERR_INVALID,
                        "TLS CA: no certificate found in the PEM text (expected \"-----BEGIN "
                        "CERTIFICATE-----\" blocks)");
  }
  SSL_CTX_set_cert_store(ctx, store); /* takes the store */
  return MP_OK;
}

static void tls_release(mp__endpoint *ep) {
  tls_ep *te = ep->tls;
  if (!te) return;
  SSL_CTX_free(te->ctx);
  mp_free(te->name);
  mp_free(te);
  ep->tls = NULL;
}

static mp_status tls_prepare(mp__endpoint *ep, const mp_loadgen_run *run) {
  pthread_once(&bio_once, bio_method_init);
  if (!bio_method) return mp_error_set(MP_ERR_INTERNAL, "TLS: cannot create the socket BIO");
  tls_ep *te = mp_calloc(1, sizeof *te);
  ep->tls = te;
  te->ctx = SSL_CTX_new(TLS_client_method());
  if (!te->ctx) return ssl_failed(ep, "SSL_CTX_new");
  SSL_CTX *ctx = te->ctx;
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  SSL_CTX_set_read_ahead(ctx, 1);
  /* A server that closes without close_notify ends the stream like a TCP close; whether
   * that cut a response short is the protocol's call, as over plain TCP. */
  SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
  /* Sessions are kept by hand (per thread and endpoint), not in OpenSSL's cache. */
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);

  const char *name = run->tls_sni && *run->tls_sni ? run->tls_sni : ep->u.host;
  bool ip = is_ip(name);
  if (!ip) te->name = mp_strdup(name);
  if (run->tls_insecure) {
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
  } else {
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    mp_status st = run->tls_ca_pem && *run->tls_ca_pem ? load_cas(ctx, run->tls_ca_pem)
                   : SSL_CTX_set_default_verify_paths(ctx) == 1
                       ? MP_OK
                       : ssl_failed(ep, "loading the system's CA certificates");
    if (st != MP_OK) return st;
    X509_VERIFY_PARAM *param = SSL_CTX_get0_param(ctx);
    X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    int ok = ip ? X509_VERIFY_PARAM_set1_ip_asc(param, name)
                : X509_VERIFY_PARAM_set1_host(param, name, 0);
    if (ok != 1) return ssl_failed(ep, "setting the name to verify");
  }
  const char *alpn = ep->proto->alpn;
  if (alpn &&
      SSL_CTX_set_alpn_protos(ctx, (const unsigned char *)alpn, (unsigned)strlen(alpn)) != 0)
    return ssl_failed(ep, "setting ALPN");
  return MP_OK;
}

/* ---- per connection ---------------------------------------------------------------------- */

static int tls_open(mp__conn *c, const mp__endpoint *ep) {
  int rc = mp__tcp_open(c, ep);
  if (rc < 0) return rc;
  tls_ep *te = ep->tls;
  tls_conn *x = mp_calloc(1, sizeof *x);
  x->fd = c->fd;
  x->ssl = SSL_new(te->ctx);
  BIO *bio = x->ssl ? BIO_new(bio_method) : NULL;
  if (!bio) {
    SSL_free(x->ssl);
    mp_free(x);
    close(c->fd);
    c->fd = -1;
    ERR_clear_error();
    return -ENOMEM;
  }
  BIO_set_data(bio, x);
  SSL_set_bio(x->ssl, bio, bio); /* the SSL owns the BIO */
  SSL_set_connect_state(x->ssl);
  if (te->name) SSL_set_tlsext_host_name(x->ssl, te->name);
  SSL_SESSION *cached = c->t->xcache[c->ep_index];
  if (cached) SSL_set_session(x->ssl, cached);
  c->xport = x;
  c->io_swap = false;
  return 0;
}

/* The server must agree to the protocol the endpoint speaks when it needs ALPN (h2). */
static int check_alpn(mp__conn *c, tls_conn *x, char *why, size_t n) {
  const char *want = c->ep->proto->alpn;
  if (!want || !c->ep->proto->alpn_required) return 0;
  const unsigned char *got = NULL;
  unsigned len = 0;
  SSL_get0_alpn_selected(x->ssl, &got, &len);
  if (len + 1 == (unsigned)strlen(want) && !memcmp(got, want + 1, len)) return 0;
  snprintf(why, n, "the server did not agree to %.*s via ALPN (%s%.*s%s)", (int)want[0], want + 1,
           len ? "it chose \"" : "it chose none", (int)len, len ? (const char *)got : "",
           len ? "\"" : "");
  x->broken = true;
  return -EPROTO;
}

static int tls_handshake(mp__conn *c, char *why, size_t n) {
  tls_conn *x = c->xport;
  int r = SSL_do_handshake(x->ssl);
  if (r == 1) {
    c->t->tls_handshakes++;
    if (SSL_session_reused(x->ssl)) c->t->tls_resumed++;
    return check_alpn(c, x, why, n);
  }
  int err = SSL_get_error(x->ssl, r);
  if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) return -EAGAIN;
  int saved = errno;
  describe(x->ssl, err, c->ep->proto->alpn, why, n);
  x->broken = true;
  return err == SSL_ERROR_SYSCALL && saved ? -saved : -EPROTO;
}

/* Reads as much as there is, up to len: returns short only when the socket is drained and
 * OpenSSL holds nothing more (see the file comment). */
static ssize_t tls_read(mp__conn *c, void *buf, size_t len) {
  tls_conn *x = c->xport;
  size_t got = 0;
  c->io_swap = false;
  c->rx_real_ns = 0;
  while (got < len) {
    size_t n = 0;
    int r = SSL_read_ex(x->ssl, (char *)buf + got, len - got, &n);
    if (r == 1) {
      got += n;
      if (x->drained && !SSL_has_pending(x->ssl)) break;
      continue;
    }
    int err = SSL_get_error(x->ssl, r);
    if (got) {
      /* Report what came first; the condition shows again on the next read. */
      if (err != SSL_ERROR_WANT_READ && err != SSL_ERROR_WANT_WRITE) ERR_clear_error();
      break;
    }
    switch (err) {
    case SSL_ERROR_WANT_READ: errno = EAGAIN; return -1;
    case SSL_ERROR_WANT_WRITE:
      c->io_swap = true;
      errno = EAGAIN;
      return -1;
    case SSL_ERROR_ZERO_RETURN: return 0;
    default: {
      int saved = errno;
      x->broken = true;
      ERR_clear_error();
      errno = err == SSL_ERROR_SYSCALL && saved ? saved : EPROTO;
      return -1;
    }
    }
  }
  c->rx_real_ns = x->rx_real_ns; /* the records it decrypted arrived by then */
  return (ssize_t)got;
}

static ssize_t tls_write(mp__conn *c, const void *buf, size_t len) {
  tls_conn *x = c->xport;
  size_t n = 0;
  c->io_swap = false;
  int r = SSL_write_ex(x->ssl, buf, len, &n);
  if (r == 1) return (ssize_t)n;
  int err = SSL_get_error(x->ssl, r);
  if (err == SSL_ERROR_WANT_WRITE) {
    errno = EAGAIN;
    return -1;
  }
  if (err == SSL_ERROR_WANT_READ) {
    c->io_swap = true;
    errno = EAGAIN;
    return -1;
  }
  int saved = errno;
  x->broken = true;
  ERR_clear_error();
  errno = err == SSL_ERROR_SYSCALL && saved ? saved : EPROTO;
  return -1;
}

static void tls_close(mp__conn *c) {
  tls_conn *x = c->xport;
  if (x) {
    if (!x->broken && SSL_is_init_finished(x->ssl)) {
      SSL_SESSION *s = SSL_get1_session(x->ssl);
      if (s && SSL_SESSION_is_resumable(s)) {
        SSL_SESSION_free(c->t->xcache[c->ep_index]);
        c->t->xcache[c->ep_index] = s;
      } else {
        SSL_SESSION_free(s);
      }
      /* close_notify, unless the server already closed; either way the session stays
       * resumable (OpenSSL spoils the sessions of connections freed without it). */
      if (SSL_get_shutdown(x->ssl) & SSL_RECEIVED_SHUTDOWN)
        SSL_set_shutdown(x->ssl, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
      else
        (void)SSL_shutdown(x->ssl);
    }
    SSL_free(x->ssl);
    mp_free(x);
    c->xport = NULL;
    ERR_clear_error();
  }
  if (c->fd >= 0) close(c->fd);
  c->fd = -1;
}

static void tls_cache_free(void *entry) { SSL_SESSION_free(entry); }

const mp__transport_ops mp__transport_tls = {
    .name = "tls",
    .prepare = tls_prepare,
    .release = tls_release,
    .open = tls_open,
    .handshake = tls_handshake,
    .read = tls_read,
    .rx_time = true,
    .write = tls_write,
    .close = tls_close,
    .cache_free = tls_cache_free,
};
