/* Serialization of one HTTP/1.1 request, done once per endpoint before a run so the hot
 * path sends a pre-built buffer with a single system call. */
#include <string.h>
#include <strings.h>

#include "meshplane/base.h"
#include "meshplane/http1.h"

static bool token_char(unsigned char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return c && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* Field values and the request target must not smuggle a line end or a NUL. */
static bool clean(const char *s) {
  for (; *s; s++)
    if (*s == '\r' || *s == '\n') return false;
  return true;
}

static bool has_header(const mp_h1_request *r, const char *name) {
  size_t n = strlen(name);
  for (size_t i = 0; i < r->n_headers; i++)
    if (!strncasecmp(r->headers[i], name, n) && r->headers[i][n] == ':') return true;
  return false;
}

static mp_status check_header(const char *h) {
  const char *colon = strchr(h, ':');
  if (!colon || colon == h)
    return mp_error_set(MP_ERR_INVALID, "header \"%s\" is not of the form \"Name: value\"", h);
  for (const char *p = h; p < colon; p++)
    if (!token_char((unsigned char)*p))
      return mp_error_set(MP_ERR_INVALID, "header \"%s\": invalid character in the name", h);
  if (!clean(colon))
    return mp_error_set(MP_ERR_INVALID, "header \"%.*s\": the value holds a line break",
                        (int)(colon - h), h);
  return MP_OK;
}

mp_status mp_h1_request_build(const mp_h1_request *r, char **out, size_t *len) {
  const char *method = r->method && *r->method ? r->method : r->body_len ? "POST" : "GET";
  for (const char *p = method; *p; p++)
    if (!token_char((unsigned char)*p))
      return mp_error_set(MP_ERR_INVALID, "invalid HTTP method \"%s\"", method);
  const char *target = r->target && *r->target ? r->target : "/";
  for (const char *p = target; *p; p++)
    if ((unsigned char)*p <= ' ' || *p == 0x7f)
      return mp_error_set(MP_ERR_INVALID,
                          "the request target \"%s\" holds a space or control "
                          "character (percent-encode it)",
                          target);
  if (!r->host || !*r->host || !clean(r->host))
    return mp_error_set(MP_ERR_INVALID, "invalid Host \"%s\"", r->host ? r->host : "");
  if (r->cookies && !clean(r->cookies))
    return mp_error_set(MP_ERR_INVALID, "the cookies hold a line break");
  if (r->content_type && !clean(r->content_type))
    return mp_error_set(MP_ERR_INVALID, "the content type holds a line break");
  for (size_t i = 0; i < r->n_headers; i++) {
    mp_status st = check_header(r->headers[i]);
    if (st != MP_OK) return st;
  }
  if (has_header(r, "Content-Length") || has_header(r, "Transfer-Encoding"))
    return mp_error_set(MP_ERR_INVALID, "Content-Length and Transfer-Encoding are set from the "
                                        "body; remove them from the headers");

  mp_buf b = {0};
  mp_buf_printf(&b, "%s %s HTTP/1.1\r\n", method, target);
  if (!has_header(r, "Host")) mp_buf_printf(&b, "Host: %s\r\n", r->host);
  if (r->user_agent && !has_header(r, "User-Agent"))
    mp_buf_printf(&b, "User-Agent: %s\r\n", r->user_agent);
  for (size_t i = 0; i < r->n_headers; i++) {
    /* Normalize "Name:value" and "Name:  value" to "Name: value". */
    const char *colon = strchr(r->headers[i], ':'), *v = colon + 1;
    while (*v == ' ' || *v == '\t') v++;
    mp_buf_append(&b, r->headers[i], (size_t)(colon - r->headers[i]));
    mp_buf_printf(&b, ": %s\r\n", v);
  }
  if (r->cookies && *r->cookies) mp_buf_printf(&b, "Cookie: %s\r\n", r->cookies);
  if (r->content_type && *r->content_type && !has_header(r, "Content-Type"))
    mp_buf_printf(&b, "Content-Type: %s\r\n", r->content_type);
  bool wants_length =
      r->body_len || !strcmp(method, "POST") || !strcmp(method, "PUT") || !strcmp(method, "PATCH");
  if (wants_length) mp_buf_printf(&b, "Content-Length: %zu\r\n", r->body_len);
  mp_buf_append(&b, "\r\n", 2);
  if (r->body_len) mp_buf_append(&b, r->body, r->body_len);
  *len = b.len;
  *out = mp_buf_steal(&b);
  return MP_OK;
}
