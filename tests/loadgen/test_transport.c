/* The plain transport's receive times (loadgen/engine/transport_plain.c): a response read
 * long after it arrived keeps the time the kernel received it, which is what lets a
 * closed-loop thread nap between polls without moving any latency. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "internal.h"

static int64_t real_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * MP_NS_PER_S + ts.tv_nsec;
}

/* A connected pair: c through the plain transport, *peer the accepted server side. */
static void connect_pair(mp__endpoint *ep, mp__conn *c, int *peer) {
  int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  assert_true(lfd >= 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t alen = sizeof a;
  assert_int_equal(bind(lfd, (struct sockaddr *)&a, sizeof a), 0);
  assert_int_equal(listen(lfd, 1), 0);
  assert_int_equal(getsockname(lfd, (struct sockaddr *)&a, &alen), 0);
  memset(ep, 0, sizeof *ep);
  memcpy(&ep->addr, &a, sizeof a);
  ep->addrlen = sizeof a;
  ep->transport = &mp__transport_plain;
  memset(c, 0, sizeof *c);
  c->fd = -1;
  assert_int_equal(mp__transport_plain.open(c, ep), 0);
  *peer = accept(lfd, NULL, NULL);
  assert_true(*peer >= 0);
  struct pollfd p = {.fd = c->fd, .events = POLLOUT};
  assert_int_equal(poll(&p, 1, 5000), 1);
  close(lfd);
}

static void test_read_keeps_the_kernel_receive_time(void **state) {
  (void)state;
  mp__endpoint ep;
  mp__conn c;
  int peer;
  connect_pair(&ep, &c, &peer);
  assert_true(mp__transport_plain.rx_time);
  char buf[64];
  struct pollfd p = {.fd = c.fd, .events = POLLIN};
  /* When no socket on the machine asked for receive times before, the kernel switches
   * them on in the background (a deferred static key): the first packets may come
   * without one, and the loop then uses its own clock. Wait for that to happen. */
  for (int i = 0; i < 100; i++) {
    assert_int_equal(write(peer, "x", 1), 1);
    assert_int_equal(poll(&p, 1, 5000), 1);
    assert_int_equal(mp__transport_plain.read(&c, buf, sizeof buf), 1);
    if (c.rx_real_ns) break;
    usleep(10 * 1000);
  }
  assert_true(c.rx_real_ns != 0);

  int64_t before = real_ns();
  assert_int_equal(write(peer, "HTTP/1.1 200 OK\r\n\r\n", 19), 19);
  int64_t after = real_ns();
  usleep(100 * 1000); /* the loop is busy elsewhere: the response waits in the socket */
  assert_int_equal(poll(&p, 1, 5000), 1);
  int64_t read_at = real_ns();
  assert_int_equal(mp__transport_plain.read(&c, buf, sizeof buf), 19);
  /* Received between the write and 10 ms after it - not when it was read, 100 ms later. */
  if (c.rx_real_ns < before - MP_NS_PER_MS || c.rx_real_ns > after + 10 * MP_NS_PER_MS)
    fail_msg("receive time %.3f ms after the write, read %.3f ms after it",
             (double)(c.rx_real_ns - before) / MP_NS_PER_MS,
             (double)(read_at - before) / MP_NS_PER_MS);

  /* Nothing to read: no time. */
  assert_int_equal(mp__transport_plain.read(&c, buf, sizeof buf), -1);
  assert_int_equal(c.rx_real_ns, 0);
  /* End of stream: no time either. */
  close(peer);
  assert_int_equal(poll(&p, 1, 5000), 1);
  assert_int_equal(mp__transport_plain.read(&c, buf, sizeof buf), 0);
  assert_int_equal(c.rx_real_ns, 0);
  mp__transport_plain.close(&c);
  assert_int_equal(c.fd, -1);
}

/* TLS reads its records through mp__tcp_recv too (test_tls checks a TLS run's latencies). */
static void test_tls_has_receive_times(void **state) {
  (void)state;
  assert_true(mp__transport_tls.rx_time);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_read_keeps_the_kernel_receive_time),
      cmocka_unit_test(test_tls_has_receive_times),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
