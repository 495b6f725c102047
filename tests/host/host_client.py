#!/usr/bin/python3
"""Drives a running host-mesh adapter process (meshplane-adapter-nginx or -haproxy) with
python3-grpcio, as Meshery would: every operation it lists, with real proxies behind it.
Checks traffic through the sidecars with plain HTTP from here, the SMI conformance result
object, a supervised restart, and that uninstall leaves no process, port or file.
Reuses tests/adapters/adapter_client.py (stub generation, event subscribers)."""
import argparse
import json
import os
import shutil
import signal
import socket
import sys
import time
import uuid

import grpc

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "adapters"))
import adapter_client  # noqa: E402
from adapter_client import Subscriber, check, check_terminals, terminal  # noqa: E402

OPS = "{mesh},mtls,access-control,sampleapp,custom,analyze,smi_conformance"
SMI = """apiVersion: specs.smi-spec.io/v1alpha4
kind: HTTPRouteGroup
metadata: {name: metrics}
spec:
  matches:
  - {name: metrics, pathRegex: /metrics, methods: [GET]}
---
apiVersion: access.smi-spec.io/v1alpha3
kind: TrafficTarget
metadata: {name: a-to-b}
spec:
  destination: {kind: ServiceAccount, name: app-b}
  rules:
  - {kind: HTTPRouteGroup, name: metrics}
  sources:
  - {kind: ServiceAccount, name: app-a}
"""


def http(port, host, path, method="GET"):
    """Status of one request to 127.0.0.1:port with a Host header (0: no answer)."""
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
        s.sendall(("%s %s HTTP/1.1\r\nHost: %s\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                   % (method, path, host)).encode())
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
        s.close()
        return int(data.split(b" ", 2)[1]) if data.startswith(b"HTTP/1.") else 0
    except OSError:
        return 0


def port_open(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
        return True
    except OSError:
        return False


def sidecars(state):
    out = {}
    path = os.path.join(state, "sidecars.txt")
    if os.path.exists(path):
        for line in open(path):
            f = line.split()
            out[f[0]] = {"inbound": int(f[1]), "outbound": int(f[2]), "app": int(f[3])}
    return out


def pids(state):
    run = os.path.join(state, "run")
    out = {}
    for name in os.listdir(run) if os.path.isdir(run) else []:
        out[name] = int(open(os.path.join(run, name)).read().split()[0])
    return out


def alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except OSError:
        return False


# Descriptions of the operations (SupportedOperations), which name their terminal events.
DESC = {}


def run_op(mesh, pb, sub, op, ns="default", delete=False, body="", timeout=90):
    """ApplyOperation, then its events until the terminal one (component "operation"):
    (the last event of the handler's own or None, the terminal event or None, all)."""
    oid = str(uuid.uuid4())
    r = mesh.ApplyOperation(pb.ApplyRuleRequest(opName=op, namespace=ns, delete_op=delete,
                                                custom_body=body, operation_id=oid), timeout=10)
    if r.error:
        print("      refused:", r.error)
        return None, None, []
    end = terminal(sub, oid, timeout)
    evs = sub.of(oid)
    own = [e for e in evs if e.component == "adapter"]
    return (own[-1] if own else None), end, evs


def ended(end, op, delete=False):
    """The terminal INFO event of op that succeeded."""
    want = DESC.get(op, "?") + (": removed" if delete else ": done")
    return end is not None and end.event_type == 0 and end.summary == want and \
        end.details.startswith("finished in ")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--target", required=True)
    ap.add_argument("--mesh", required=True)
    ap.add_argument("--state", required=True)
    ap.add_argument("--adapter-pid", type=int, required=True)
    a = ap.parse_args()
    from meshes import meshops_pb2 as pb
    from meshes import meshops_pb2_grpc as pbg

    ch = grpc.insecure_channel(a.target)
    grpc.channel_ready_future(ch).result(timeout=20)
    mesh = pbg.MeshServiceStub(ch)
    name = mesh.MeshName(pb.MeshNameRequest(), timeout=10).name
    check(name == a.mesh.upper() + "_HOST", "MeshName %s" % name)
    listed = mesh.SupportedOperations(pb.SupportedOperationsRequest(), timeout=10).ops
    ops = [o.key for o in listed]
    DESC.update({o.key: o.value for o in listed})
    check(ops == OPS.format(mesh=a.mesh).split(","), "SupportedOperations %s" % ops)
    ci = mesh.ComponentInfo(pb.ComponentInfoRequest(), timeout=10)
    check(ci.properties.get("platform") == "host", "ComponentInfo platform %s" %
          ci.properties.get("platform"))
    sub = Subscriber(mesh.StreamEvents, pb, "MeshService")
    time.sleep(0.2)

    # Install, sample app, traffic.
    ev, end, _ = run_op(mesh, pb, sub, a.mesh)
    check(ev and ev.event_type == 0 and "host mesh" in ev.summary and "installed" in ev.summary
          and ended(end, a.mesh), "install: %s, then %s" %
          (ev.summary if ev else None, end.summary if end else None))
    ev, end, _ = run_op(mesh, pb, sub, "sampleapp")
    check(ev and ev.event_type == 0 and "deployed" in ev.summary and ended(end, "sampleapp"),
          "sampleapp: %s, then %s" % (ev.summary if ev else None, end.summary if end else None))
    sc = sidecars(a.state)
    check(sorted(sc) == ["default/app-a", "default/app-b", "default/app-c"], "sidecars %s" %
          sorted(sc))
    aout = sc["default/app-a"]["outbound"]
    check(http(aout, "app-b", "/hello") == 200, "app-a -> app-b through the mesh (mTLS)")

    # SMI through custom YAML, access control on: only GET /metrics from app-a.
    ev, end, _ = run_op(mesh, pb, sub, "custom", body=SMI)
    check(ev and ev.event_type == 0 and ended(end, "custom"), "custom SMI YAML applied: %s" %
          (ev.summary if ev else None))
    ev, end, _ = run_op(mesh, pb, sub, "access-control")
    check(ev and ev.event_type == 0 and ended(end, "access-control"), "access control on: %s" %
          (ev.summary if ev else None))
    cout = sc["default/app-c"]["outbound"]
    got = (http(aout, "app-b", "/metrics"), http(aout, "app-b", "/hello"),
           http(aout, "app-b", "/metrics", "POST"), http(cout, "app-b", "/metrics"))
    check(got == (200, 403, 403, 403), "SMI access + specs enforced (%s)" % (got,))
    _, end, evs = run_op(mesh, pb, sub, "mtls", delete=True)
    check(end and end.event_type == 2 and "needs mTLS" in end.summary and evs == [end],
          "mTLS off refused while access control is on: %s" % (end.summary if end else None))
    ev, end, _ = run_op(mesh, pb, sub, "access-control", delete=True)
    check(ev and ev.event_type == 0 and ended(end, "access-control", True), "access control off")
    check(http(aout, "app-b", "/hello") == 200, "permissive again")

    # Analyze the live configuration.
    ev, end, evs = run_op(mesh, pb, sub, "analyze")
    check(any(e.summary.startswith("configuration analyzed") for e in evs) and
          ended(end, "analyze"), "analyze: %s, then %s" %
          (ev.summary if ev else None, end.summary if end else None))

    # SMI conformance: the result object in the details of the last event before the
    # terminal one.
    t0 = time.monotonic()
    ev, end, evs = run_op(mesh, pb, sub, "smi_conformance", timeout=150)
    took = time.monotonic() - t0
    result = {}
    try:
        result = json.loads(ev.details)
    except (ValueError, AttributeError):
        pass
    details = result.get("more_details", [])
    specs = {d.get("smi_specification") for d in details}
    check(ev and ev.event_type == 0 and ended(end, "smi_conformance") and evs[-2] == ev and
          result.get("passing_percentage") == "100%" and
          result.get("cases_passed") == str(len(details)) and len(details) == 12 and
          specs == {"traffic-access", "traffic-specs", "traffic-split"} and
          result.get("mesh_name") == a.mesh and result.get("mesh_version"),
          "smi_conformance passed in %.1f s: %s" % (took, ev.summary if ev else None))
    if ev and result.get("passing_percentage") != "100%":
        for e in evs:
            print("     ", e.summary, "|", e.details[:300])
    split = [d for d in details if "75/25" in d.get("assertions", "")]
    check(split and "2000 requests" in split[0].get("reason", ""), "75/25 measured: %s" %
          (split[0].get("reason") if split else None))
    check(sorted(sidecars(a.state)) == ["default/app-a", "default/app-b", "default/app-c"],
          "the suite removed what it deployed")

    # A killed proxy is restarted, with an event (no operation id).
    p = pids(a.state).get("proxy_default_app-b.pid")
    os.kill(p, signal.SIGKILL)
    hits = sub.wait_for(lambda e: e.operation_id == "" and "restarted" in e.summary, 15)
    check(bool(hits) and "default/app-b" in hits[0].summary, "restart event: %s" %
          (hits[0].summary if hits else None))
    ok = False
    for _ in range(100):
        if http(aout, "app-b", "/again") == 200:
            ok = True
            break
        time.sleep(0.05)
    check(ok, "traffic flows after the restart")

    # Uninstall: nothing left.
    before = pids(a.state)
    ports = [p for s in sidecars(a.state).values() for p in s.values()]
    ev, end, _ = run_op(mesh, pb, sub, a.mesh, delete=True)
    check(ev and ev.event_type == 0 and "uninstalled" in ev.summary and
          ended(end, a.mesh, True), "uninstall: %s, then %s" %
          (ev.summary if ev else None, end.summary if end else None))
    check(not [p for p in before.values() if alive(p)], "no process left (%d were running)" %
          len(before))
    check(not [p for p in ports if port_open(p)], "no port left open (%d were)" % len(ports))
    check(not os.path.exists(a.state), "state directory removed")
    check(check_terminals(sub) == 9, "9 operations, each with its terminal event")
    sub.call.cancel()
    ch.close()


if __name__ == "__main__":
    stubs = adapter_client.load_stubs()
    try:
        main()
    finally:
        shutil.rmtree(stubs, ignore_errors=True)
    if adapter_client.failures:
        sys.exit("%d check(s) failed" % len(adapter_client.failures))
    print("all host adapter checks passed")
