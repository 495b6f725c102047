/* Private helpers shared by the rpc server and client. */
#ifndef MP_RPC_INTERNAL_H
#define MP_RPC_INTERNAL_H

#include <grpc/byte_buffer.h>
#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc.h>
#include <grpc/support/time.h>

#include "meshplane/rpc.h"

#define MP_RPC_DEFAULT_MAX_MESSAGE (64u << 20)

/* A deadline ms milliseconds from now on the monotonic clock (infinite for ms < 0). */
gpr_timespec mp__rpc_deadline_in(int64_t ms);
/* Packs msg into a new byte buffer (the caller destroys it). */
grpc_byte_buffer *mp__rpc_pack(const ProtobufCMessage *msg);
/* Unpacks a received buffer as desc; NULL when it does not parse. The result is the
 * caller's to free with protobuf_c_message_free_unpacked. */
ProtobufCMessage *mp__rpc_unpack(const ProtobufCMessageDescriptor *desc, grpc_byte_buffer *bb);
/* Reads a whole file into a NUL-terminated string (the caller frees), or NULL with
 * mp_error_set. */
char *mp__rpc_read_file(const char *path);
/* Builds "/<service full name>/<method>". The caller frees. */
char *mp__rpc_path(const char *service, const char *method);
/* Copies a slice into dst (size n), NUL-terminated. */
void mp__rpc_slice_copy(grpc_slice s, char *dst, size_t n);
/* Whether the .proto files declare service/method unary (generated, see CMakeLists.txt). */
bool mp__rpc_method_is_unary(const char *service, const char *method);
/* Constant-time comparison of two strings. */
bool mp__rpc_secure_equal(const char *a, const char *b);

/* The built-in grpc.health.v1.Health service and the per-server health table. */
typedef struct mp__health mp__health;
mp__health *mp__health_new(void);
void mp__health_free(mp__health *h);
ProtobufCService *mp__health_service(void);
void mp__health_set(mp__health *h, const char *service, int status);
void mp__health_set_all(mp__health *h, int status);
mp__health *mp__server_health(mp_rpc_server *s);

#endif
