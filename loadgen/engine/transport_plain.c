/* Plain TCP: the transport every other one (TLS) is measured against. */
#include <errno.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>
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
  /* Reads report when the kernel received the data (mp__tcp_recv). On a machine where no
   * socket wanted that before, the kernel turns it on in the background: the first reads
   * may come without a time, and the loop uses its own clock for them. */
  (void)setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof one);
  if (connect(fd, (const struct sockaddr *)&ep->addr, ep->addrlen) < 0 && errno != EINPROGRESS) {
    int err = errno;
    close(fd);
    return -err;
  }
  c->fd = fd;
  return 0;
}

/* The system calls themselves, not glibc's recvmsg()/send(): those are cancellation points,
 * and each call pays for enabling and disabling asynchronous cancellation (two atomic
 * operations) - loop threads are never cancelled. One of each per request. */
ssize_t mp__tcp_recv(int fd, void *buf, size_t len, int64_t *rx_real_ns) {
  union {
    char buf[CMSG_SPACE(sizeof(struct timespec))];
    struct cmsghdr align;
  } ctl;
  struct iovec iov = {.iov_base = buf, .iov_len = len};
  struct msghdr msg = {
      .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf, .msg_controllen = sizeof ctl.buf};
  ssize_t n = (ssize_t)syscall(SYS_recvmsg, fd, &msg, 0);
  if (n > 0)
    for (struct cmsghdr *cm = CMSG_FIRSTHDR(&msg); cm; cm = CMSG_NXTHDR(&msg, cm))
      if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_TIMESTAMPNS) {
        struct timespec ts;
        memcpy(&ts, CMSG_DATA(cm), sizeof ts);
        *rx_real_ns = (int64_t)ts.tv_sec * MP_NS_PER_S + ts.tv_nsec;
      }
  return n;
}

static ssize_t plain_read(mp__conn *c, void *buf, size_t len) {
  c->rx_real_ns = 0;
  return mp__tcp_recv(c->fd, buf, len, &c->rx_real_ns);
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
    .rx_time = true,
    .write = plain_write,
    .close = plain_close,
};
