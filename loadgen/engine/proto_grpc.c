/* gRPC load as an engine protocol: unary calls over HTTP/2 (proto_h2.c does the streams).
 * Every call is a POST to the method's path with content-type application/grpc and
 * te: trailers, carrying one length-prefixed message (the run's payload: serialized
 * protobuf bytes). The result counted is the call's grpc-status, from the trailers or a
 * trailers-only response (0 = OK; anything else is an error and counted under its code),
 * or the HTTP status mapped as the gRPC specification says when a server (a proxy, say)
 * answers without one. The user's headers are sent as metadata. */
#include <string.h>

#include "meshplane/grpc_frame.h"
#include "proto_h2.h"

#define HEALTH_CHECK "/grpc.health.v1.Health/Check"

static mp_status grpc_prepare(mp__endpoint *ep, const mp__request_parts *parts) {
  const char *method = parts->grpc_method && *parts->grpc_method ? parts->grpc_method
                       : strcmp(ep->u.target, "/")               ? ep->u.target
                                                                 : HEALTH_CHECK;
  const char *why = mp_grpc_method_check(method);
  if (why)
    return mp_error_set(MP_ERR_INVALID, "gRPC method \"%s\" for %s: %s", method, ep->url, why);
  mp_status st = mp__h2_check(ep, parts, method);
  if (st != MP_OK) return st;
  mp__h2_template *tp = mp__h2_template_new(ep, "POST", method, parts);
  ep->h2 = tp;
  mp__h2_template_add(tp, "te", "trailers");
  if (!mp__h2_template_has(tp, "content-type"))
    mp__h2_template_add(tp, "content-type", "application/grpc");
  if (parts->user_agent && !mp__h2_template_has(tp, "user-agent"))
    mp__h2_template_add(tp, "user-agent", parts->user_agent);
  const uint8_t *msg = parts->grpc_payload ? parts->grpc_payload : parts->body;
  size_t len = parts->grpc_payload ? parts->grpc_payload_len : parts->body_len;
  if (len > MP_GRPC_DEFAULT_MAX_MESSAGE)
    return mp_error_set(MP_ERR_INVALID, "gRPC payload of %zu bytes: at most %u", len,
                        MP_GRPC_DEFAULT_MAX_MESSAGE);
  tp->body_owned = mp_grpc_frame(msg, len, &tp->body_len);
  tp->body = tp->body_owned;
  return MP_OK;
}

const mp__proto_ops mp__proto_grpc = MP__H2_PROTO_OPS("grpc", grpc_prepare);
