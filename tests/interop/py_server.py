#!/usr/bin/python3
"""Interop: a python3-grpcio server of the test Echo service, for lib/rpc's client.
Prints "PORT <n>" once serving; exits when stdin closes or on SIGTERM."""
import signal
import sys
import threading
import time
from concurrent import futures

import grpc

import pystubs

pystubs.load()
import test_pb2  # noqa: E402
import test_pb2_grpc  # noqa: E402


class Echo(test_pb2_grpc.EchoServicer):
    def Say(self, req, ctx):
        md = dict(ctx.invocation_metadata())
        return test_pb2.EchoReply(text=req.text, blob=req.blob,
                                  metadata="x-test=%s;auth=%s" % (md.get("x-test", ""),
                                                                 md.get("authorization", "")))

    def Count(self, req, ctx):
        i = 0
        while req.count == 0 or i < req.count:
            yield test_pb2.EchoReply(text=req.text, seq=i)
            i += 1
            if req.interval_ms:
                time.sleep(req.interval_ms / 1000.0)
            if not ctx.is_active():
                return

    def Fail(self, req, ctx):
        ctx.abort(grpc.StatusCode(tuple(c for c in grpc.StatusCode if c.value[0] == req.fail_code)[0].value),
                  req.text)

    def Sleep(self, req, ctx):
        end = time.monotonic() + req.sleep_ms / 1000.0
        while time.monotonic() < end and ctx.is_active():
            time.sleep(0.01)
        return test_pb2.EchoReply(text=req.text)


def main():
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=16))
    test_pb2_grpc.add_EchoServicer_to_server(Echo(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    print("PORT %d" % port, flush=True)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    threading.Thread(target=lambda: (sys.stdin.read(), done.set()), daemon=True).start()
    done.wait()
    server.stop(0.5).wait()


main()
