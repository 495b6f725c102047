"""Generates python3-grpcio stubs for the interop tests into a temporary directory and
puts it on sys.path. Debian's grpc_tools is only visible to /usr/bin/python3."""
import os
import shutil
import sys
import tempfile

from grpc_tools import protoc

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def load():
    out = tempfile.mkdtemp(prefix="mp-interop-")
    # health.proto is compiled from a flat copy: generating it as grpc/health/v1/...
    # would create a "grpc" package that shadows grpcio itself.
    shutil.copy(os.path.join(ROOT, "protos/grpc/health/v1/health.proto"), out)
    shutil.copy(os.path.join(ROOT, "tests/rpc/test.proto"), out)
    for proto in ("test.proto", "health.proto"):
        rc = protoc.main(["protoc", "-I" + out, "--python_out=" + out,
                          "--grpc_python_out=" + out, os.path.join(out, proto)])
        if rc != 0:
            sys.exit("protoc failed for " + proto)
    sys.path.insert(0, out)
    return out
