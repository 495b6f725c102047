#!/usr/bin/python3
"""Interop: python3-grpcio (an independent gRPC implementation) as the client of a
lib/rpc server. Usage: py_client.py HOST:PORT. Exits non-zero on the first mismatch."""
import shutil
import sys
import time

import grpc

import pystubs

stubs_dir = pystubs.load()
import health_pb2  # noqa: E402
import health_pb2_grpc  # noqa: E402
import test_pb2  # noqa: E402
import test_pb2_grpc  # noqa: E402

failures = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what, flush=True)
    if not cond:
        failures.append(what)


def main(target):
    ch = grpc.insecure_channel(target)
    echo = test_pb2_grpc.EchoStub(ch)

    r, call = echo.Say.with_call(test_pb2.EchoRequest(text="héllo", blob=b"\x00\xff"),
                                 metadata=[("x-test", "from-python")], timeout=10)
    check(r.text == "héllo" and r.blob == b"\x00\xff", "unary Say round-trips text and bytes")
    check(r.metadata == "x-test=from-python;auth=", "server reads request metadata")

    n = 0
    for i, m in enumerate(echo.Count(test_pb2.EchoRequest(text="s", count=1000), timeout=30)):
        if m.seq != i:
            check(False, "stream message %d has seq %d" % (i, m.seq))
            break
        n += 1
    check(n == 1000, "server stream of 1000 messages in order (got %d)" % n)

    try:
        echo.Fail(test_pb2.EchoRequest(text="qps must be >= 0", fail_code=3), timeout=10)
        check(False, "Fail should raise")
    except grpc.RpcError as e:
        check(e.code() == grpc.StatusCode.INVALID_ARGUMENT and e.details() == "qps must be >= 0",
              "INVALID_ARGUMENT with its message (%s: %s)" % (e.code(), e.details()))

    try:
        echo.Sleep(test_pb2.EchoRequest(sleep_ms=5000), timeout=0.3)
        check(False, "Sleep should time out")
    except grpc.RpcError as e:
        check(e.code() == grpc.StatusCode.DEADLINE_EXCEEDED, "DEADLINE_EXCEEDED (%s)" % e.code())

    stream = echo.Count(test_pb2.EchoRequest(interval_ms=20), timeout=10)
    got = [next(stream) for _ in range(3)]
    stream.cancel()
    check(len(got) == 3, "cancel a running stream after 3 messages")

    t0 = time.monotonic()
    raw = ch.unary_unary("/meshplane.test.Nope/Nothing")
    try:
        raw(b"", timeout=10)
        check(False, "unknown method should fail")
    except grpc.RpcError as e:
        took = time.monotonic() - t0
        check(e.code() == grpc.StatusCode.UNIMPLEMENTED and took < 2,
              "unknown method: UNIMPLEMENTED in %.3f s" % took)

    bad = ch.unary_unary("/meshplane.test.Echo/Say")
    try:
        bad(b"\xff\xff\xff", timeout=10)
        check(False, "garbage request should fail")
    except grpc.RpcError as e:
        check(e.code() == grpc.StatusCode.INVALID_ARGUMENT and "EchoRequest" in e.details(),
              "garbage request: INVALID_ARGUMENT naming the type (%s)" % e.details())

    health = health_pb2_grpc.HealthStub(ch)
    for svc in ("", "meshplane.test.Echo"):
        h = health.Check(health_pb2.HealthCheckRequest(service=svc), timeout=10)
        check(h.status == health_pb2.HealthCheckResponse.SERVING, "health Check(%r) SERVING" % svc)
    w = health.Watch(health_pb2.HealthCheckRequest(service=""), timeout=10)
    check(next(w).status == health_pb2.HealthCheckResponse.SERVING, "health Watch first message")
    w.cancel()
    ch.close()


try:
    main(sys.argv[1])
finally:
    shutil.rmtree(stubs_dir, ignore_errors=True)
if failures:
    sys.exit("%d interop check(s) failed" % len(failures))
print("all interop checks passed")
