/* Plain TCP: the transport every other one (TLS) is measured against. */
#include <errno.h>
#include <netinet/tcp.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "internal.h"

int mp__tcp_open(mp__conn *c, const mp__endpoint *ep) {
  int fd = socket(ep->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
  if (fd < 0) return -errno;
  /* Requests leave in one write, but a partial write followed by the rest must not wait
   * for the peer's delayed ACK. */
  int one = 1;
  (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (connect(fd, (const struct sockaddr *)&ep->addr, ep->addrlen) < 0 && errno != EINPROGRESS) {
    int err = errno;
    close(fd);
    return -err;
  }
  c->fd = fd;
  return 0;
}

/* The system calls themselves, not glibc's recv()/send(): those are cancellation points,
 * and each call pays for enabling and disabling asynchronous cancellation (two atomic
 * operations) - loop threads are never cancelled. One of each per request. */
static ssize_t plain_read(mp__conn *c, void *buf, size_t len) {
  return (ssize_t)syscall(SYS_recvfrom, c->fd, buf, len, 0, NULL, NULL);
}

static ssize_t plain_write(mp__conn *c, const void *buf, size_t len) {
  return (ssize_t)syscall(SYS_sendto, c->fd, buf, len, MSG_NOSIGNAL, NULL, 0);
}

static void plain_close(mp__conn *c) {
  if (c->fd >= 0) close(c->fd);
  c->fd = -1;
}

const mp__transport_ops mp__transport_plain = {
    .name = "tcp",
    .open = mp__tcp_open,
    .handshake = NULL,
    .read = plain_read,
    .write = plain_write,
    .close = plain_close,
};
