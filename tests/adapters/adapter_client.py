#!/usr/bin/python3
"""An independent client (python3-grpcio, stubs compiled at test time from
protos/meshes/meshops.proto, which tests/interop/check_meshops_proto.py checks against
Meshery's field table) for a running meshplane adapter process. Calls every
meshes.MeshService method and their meshes.AdapterService twins, and checks that
operations stream their events to every subscriber.

The adapter runs with fake_tool.sh as its kubectl (a recorder, not a cluster): operations
that only need kubectl succeed, and those needing helm or a mesh CLI end with the "tool
missing" ERROR event. Every operation ends with exactly one terminal event (component
"operation"), its last. Exits non-zero on the first failed check."""
import argparse
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
import uuid

import grpc
from grpc_tools import protoc

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))

KUBECONFIG = """apiVersion: v1
kind: Config
clusters:
- name: c
  cluster:
    server: https://127.0.0.1:1
contexts:
- name: c
  context: {cluster: c, user: u}
current-context: c
users:
- name: u
  user: {token: t}
"""
MANIFEST = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: interop\ndata:\n  k: v\n"


def load_stubs():
    out = tempfile.mkdtemp(prefix="mp-adapter-interop-")
    os.makedirs(os.path.join(out, "meshes"))
    shutil.copy(os.path.join(ROOT, "protos/meshes/meshops.proto"), os.path.join(out, "meshes"))
    # Flat copy: a generated "grpc" package would shadow grpcio itself.
    shutil.copy(os.path.join(ROOT, "protos/grpc/health/v1/health.proto"), out)
    for proto in ("meshes/meshops.proto", "health.proto"):
        if protoc.main(["protoc", "-I" + out, "--python_out=" + out,
                        "--grpc_python_out=" + out, os.path.join(out, proto)]) != 0:
            sys.exit("protoc failed for " + proto)
    sys.path.insert(0, out)
    return out


failures = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what, flush=True)
    if not cond:
        failures.append(what)
    return cond


class Subscriber:
    """Collects the events of one StreamEvents call in a thread."""

    def __init__(self, method, pb, name):
        self.name = name
        self.events = []
        self.cv = threading.Condition()
        self.call = method(pb.EventsRequest(), timeout=120)
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        self.code = grpc.StatusCode.OK
        try:
            for ev in self.call:
                with self.cv:
                    self.events.append(ev)
                    self.cv.notify_all()
        except grpc.RpcError as e:
            self.code = e.code()

    def wait_for(self, pred, timeout=20):
        deadline = time.monotonic() + timeout
        with self.cv:
            while True:
                hits = [e for e in self.events if pred(e)]
                if hits:
                    return hits
                left = deadline - time.monotonic()
                if left <= 0:
                    return []
                self.cv.wait(left)

    def of(self, op_id):
        with self.cv:
            return [e for e in self.events if e.operation_id == op_id]


def terminal(sub, op_id, timeout=20):
    """The event that ends an operation: the one with component "operation"."""
    hits = sub.wait_for(lambda e: e.operation_id == op_id and e.component == "operation",
                        timeout)
    return hits[-1] if hits else None


def check_terminals(sub):
    """Every operation this subscriber saw has exactly one terminal event, its last, and
    every other event of it has component "adapter". Returns how many operations."""
    with sub.cv:
        events = list(sub.events)
    ops = {}
    for e in events:
        if e.operation_id:
            ops.setdefault(e.operation_id, []).append(e)
    bad = []
    for op_id, evs in ops.items():
        ends = [i for i, e in enumerate(evs) if e.component == "operation"]
        others = {e.component for e in evs if e.component != "operation"}
        if ends != [len(evs) - 1] or others - {"adapter"}:
            bad.append("%s: terminal events at %s of %d, other components %s" %
                       (op_id, ends, len(evs), sorted(others)))
    check(not bad, "%s subscriber: each of %d operations ends with one terminal event%s" %
          (sub.name, len(ops), "" if not bad else ": " + "; ".join(bad[:3])))
    return len(ops)


def fake_runs(log):
    runs = []
    for d in sorted(os.listdir(log)):
        def read(name):
            p = os.path.join(log, d, name)
            return open(p).read() if os.path.exists(p) else None
        if read("argv") is None:  # a run that is just starting
            continue
        runs.append({"argv": read("argv").split("\n")[:-1], "stdin": read("stdin"),
                     "mode": read("kubeconfig.mode"), "path": read("kubeconfig.path")})
    return runs


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--target", required=True)
    ap.add_argument("--mesh", required=True)
    ap.add_argument("--mesh-name", required=True)
    ap.add_argument("--ops", required=True, help="the operation keys, in order, comma-separated")
    ap.add_argument("--missing-op", help="an operation that needs a tool the adapter lacks")
    ap.add_argument("--ok-op", help="an operation that succeeds with only kubectl")
    ap.add_argument("--fake-log", required=True)
    ap.add_argument("--tmpdir", required=True)
    ap.add_argument("--drain-pid", type=int,
                    help="end by sending SIGTERM to this adapter while an operation runs")
    a = ap.parse_args()

    import health_pb2
    import health_pb2_grpc
    from meshes import meshops_pb2 as pb
    from meshes import meshops_pb2_grpc as pbg

    ch = grpc.insecure_channel(a.target)
    grpc.channel_ready_future(ch).result(timeout=20)
    mesh = pbg.MeshServiceStub(ch)
    # meshes.AdapterService: the same messages; two methods renamed.
    svc = "/meshes.AdapterService/"
    ad = {
        "AdapterName": ch.unary_unary(svc + "AdapterName",
                                      request_serializer=pb.MeshNameRequest.SerializeToString,
                                      response_deserializer=pb.MeshNameResponse.FromString),
        "AdapterVersions": ch.unary_unary(
            svc + "AdapterVersions", request_serializer=pb.MeshVersionsRequest.SerializeToString,
            response_deserializer=pb.MeshVersionsResponse.FromString),
        "ApplyOperation": ch.unary_unary(
            svc + "ApplyOperation", request_serializer=pb.ApplyRuleRequest.SerializeToString,
            response_deserializer=pb.ApplyRuleResponse.FromString),
        "SupportedOperations": ch.unary_unary(
            svc + "SupportedOperations",
            request_serializer=pb.SupportedOperationsRequest.SerializeToString,
            response_deserializer=pb.SupportedOperationsResponse.FromString),
        "StreamEvents": ch.unary_stream(
            svc + "StreamEvents", request_serializer=pb.EventsRequest.SerializeToString,
            response_deserializer=pb.EventsResponse.FromString),
        "Provision": ch.unary_unary(svc + "Provision",
                                    request_serializer=pb.ProvisionRequest.SerializeToString,
                                    response_deserializer=pb.ProvisionResponse.FromString),
        "ComponentInfo": ch.unary_unary(
            svc + "ComponentInfo", request_serializer=pb.ComponentInfoRequest.SerializeToString,
            response_deserializer=pb.ComponentInfoResponse.FromString),
    }

    # Names and versions, both services.
    n1 = mesh.MeshName(pb.MeshNameRequest(), timeout=10).name
    n2 = ad["AdapterName"](pb.MeshNameRequest(), timeout=10).name
    check(n1 == a.mesh_name and n2 == a.mesh_name, "MeshName/AdapterName = %s (%s, %s)" %
          (a.mesh_name, n1, n2))
    v1 = list(mesh.MeshVersions(pb.MeshVersionsRequest(), timeout=10).version)
    v2 = list(ad["AdapterVersions"](pb.MeshVersionsRequest(), timeout=10).version)
    check(len(v1) > 0 and v1 == v2, "MeshVersions/AdapterVersions agree: %s" % v1)

    # Operations.
    want = a.ops.split(",")
    desc = {}
    for name, call in (("MeshService", mesh.SupportedOperations),
                       ("AdapterService", ad["SupportedOperations"])):
        r = call(pb.SupportedOperationsRequest(), timeout=10)
        keys = [o.key for o in r.ops]
        desc = {o.key: o.value for o in r.ops}
        check(keys == want, "%s SupportedOperations lists %d operations in order" %
              (name, len(want)) + ("" if keys == want else ": got %s" % keys))
        check(all(o.value and 0 <= o.category <= 4 for o in r.ops),
              "%s every operation has a description and a valid category" % name)
        check(r.error == "none", "%s SupportedOperations error is 'none'" % name)

    # Component info.
    for name, call in (("MeshService", mesh.ComponentInfo), ("AdapterService",
                                                             ad["ComponentInfo"])):
        ci = call(pb.ComponentInfoRequest(), timeout=10)
        check(ci.type == "adapter" and ci.name == "meshplane-adapter-" + a.mesh and ci.version
              and ci.git_sha and ci.properties.get("mesh") == a.mesh
              and ci.properties.get("platform") == "kubernetes",
              "%s ComponentInfo: %s %s %s %s" % (name, ci.type, ci.name, ci.version,
                                                 dict(ci.properties)))

    # Health.
    health = health_pb2_grpc.HealthStub(ch)
    for s in ("", "meshes.MeshService", "meshes.AdapterService"):
        h = health.Check(health_pb2.HealthCheckRequest(service=s), timeout=10)
        check(h.status == health_pb2.HealthCheckResponse.SERVING, "health %r SERVING" % s)

    # Two subscribers, one per service; wait until both are live with a probe operation.
    subs = [Subscriber(mesh.StreamEvents, pb, "MeshService"),
            Subscriber(ad["StreamEvents"], pb, "AdapterService")]
    live = False
    for i in range(20):
        pid = "probe-%d-%s" % (i, uuid.uuid4())
        mesh.ApplyOperation(pb.ApplyRuleRequest(opName="custom", namespace="default",
                                                custom_body=MANIFEST, operation_id=pid,
                                                kube_configs=[KUBECONFIG]), timeout=10)
        if all(s.wait_for(lambda e, pid=pid: e.operation_id == pid, 1) for s in subs):
            live = True
            break
    check(live, "both StreamEvents subscribers receive events")

    # Refusals name what to fix.
    r = mesh.ApplyOperation(pb.ApplyRuleRequest(opName="nope"), timeout=10)
    check('unknown operation "nope"' in r.error and all(k in r.error for k in want),
          "unknown operation refused, naming the valid keys: %s" % r.error)
    r = ad["ApplyOperation"](pb.ApplyRuleRequest(opName=want[0], namespace="Not_OK"), timeout=10)
    check("not a valid Kubernetes namespace" in r.error, "bad namespace refused: %s" % r.error)

    # A custom operation: kept operation id, events to both subscribers, kubectl argv.
    oid = str(uuid.uuid4())
    os.makedirs(a.fake_log, exist_ok=True)
    for d in os.listdir(a.fake_log):
        shutil.rmtree(os.path.join(a.fake_log, d))
    r = mesh.ApplyOperation(pb.ApplyRuleRequest(opName="custom", namespace="shop",
                                                custom_body=MANIFEST, operation_id=oid,
                                                kube_configs=[KUBECONFIG], username="me"),
                            timeout=10)
    check(r.error == "" and r.operation_id == oid, "ApplyOperation keeps operation_id %s" % oid)
    for s in subs:
        end = terminal(s, oid)
        evs = s.of(oid)
        ev = evs[0] if evs else None
        check(len(evs) == 2 and ev.event_type == 0 and
              ev.summary == "custom YAML applied: 1 object in namespace shop" and
              ev.details == "ConfigMap interop" and ev.component == "adapter" and
              ev.component_name == a.mesh,
              "%s subscriber: custom operation's INFO event (%s)" % (s.name, ev))
        check(end is not None and evs[-1] == end and end.event_type == 0 and
              end.summary == desc["custom"] + ": done" and
              end.details.startswith("finished in ") and end.details.endswith("s") and
              end.component_name == a.mesh and end.error_code == "",
              "%s subscriber: custom operation's terminal INFO event (%s)" % (s.name, end))
    runs = fake_runs(a.fake_log)
    applies = [x for x in runs if "apply" in x["argv"]]
    check(len(applies) == 1 and applies[0]["argv"][2:] == ["apply", "-f", "-", "-n", "shop"]
          and applies[0]["argv"][1].startswith("--kubeconfig=") and
          applies[0]["stdin"] == MANIFEST,
          "kubectl (recorder) ran with argv %s" % (applies[0]["argv"] if applies else None))
    # Removed when the handler returns, just after its last event was published.
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and [
            f for f in os.listdir(a.tmpdir) if f.startswith("meshplane-kubeconfig-")]:
        time.sleep(0.02)
    check(applies and applies[0]["mode"] == "600\n" and
          not os.path.exists(applies[0]["path"].strip()),
          "kubeconfig was a 0600 temp file, removed after the operation")
    check(not [f for f in os.listdir(a.tmpdir) if f.startswith("meshplane-kubeconfig-")],
          "no kubeconfig file left in TMPDIR")

    # Concurrent operations: each one's events stay its own.
    ids = [str(uuid.uuid4()) for _ in range(6)]
    threads = [threading.Thread(target=lambda i=i, n=n: ad["ApplyOperation"](pb.ApplyRuleRequest(
        opName="custom", namespace="ns-%d" % n, custom_body=MANIFEST, operation_id=i,
        kube_configs=[KUBECONFIG]), timeout=10)) for n, i in enumerate(ids)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for s in subs:
        ok = True
        for n, i in enumerate(ids):
            end = terminal(s, i)
            evs = [e for e in s.of(i) if e.event_type != 1]
            ok = ok and end is not None and end.summary == desc["custom"] + ": done"
            ok = ok and len(evs) == 2 and evs[-1] == end
            ok = ok and evs[0].summary.endswith("namespace ns-%d" % n)
        check(ok, "%s subscriber: 6 concurrent operations, one event and the terminal one "
              "each, none mixed up" % s.name)

    # An operation that needs a tool the adapter lacks ends with a precise ERROR event.
    if a.missing_op:
        r = mesh.ApplyOperation(pb.ApplyRuleRequest(opName=a.missing_op,
                                                    kube_configs=[KUBECONFIG]), timeout=10)
        check(r.error == "" and len(r.operation_id) == 36, "operation id assigned: %s" %
              r.operation_id)
        for s in subs:
            ev = terminal(s, r.operation_id)
            check(ev is not None and ev.event_type == 2 and ev.error_code == "MPA1001" and
                  ev.probable_cause and "PATH" in ev.suggested_remediation and
                  s.of(r.operation_id) == [ev],
                  "%s subscriber: %s ends with 'tool missing' ERROR: %s / %s" %
                  (s.name, a.missing_op, ev.summary if ev else None,
                   ev.suggested_remediation if ev else None))
    if a.ok_op:
        r = mesh.ApplyOperation(pb.ApplyRuleRequest(opName=a.ok_op, kube_configs=[KUBECONFIG]),
                                timeout=10)
        for s in subs:
            ev = terminal(s, r.operation_id)
            evs = s.of(r.operation_id)
            check(ev is not None and evs[-1] == ev and len(evs) >= 2 and
                  all(e.event_type == 0 for e in evs) and
                  ev.summary == desc[a.ok_op] + ": done",
                  "%s subscriber: %s succeeded: %s, then %s" %
                  (s.name, a.ok_op, evs[-2].summary if len(evs) > 1 else None,
                   ev.summary if ev else None))

    # Analyze: the configuration analyzer runs on custom YAML, one event per finding.
    analyze_op = next((k for k in a.ops.split(",") if k in ("analyze", "istio-vet")), None)
    if analyze_op:
        bad = ("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: shop}\n"
               "spec:\n  selector: {matchLabels: {app: web}}\n  template:\n"
               "    metadata: {labels: {app: web}}\n"
               "    spec: {containers: [{name: web, image: 'nginx:latest'}]}\n")
        r = mesh.ApplyOperation(pb.ApplyRuleRequest(opName=analyze_op, custom_body=bad),
                                timeout=10)
        for s in subs:
            end = terminal(s, r.operation_id)
            evs = s.of(r.operation_id)
            codes = {e.error_code for e in evs}
            check(end is not None and end.event_type == 0 and len(evs) >= 2 and
                  end.summary == desc[analyze_op] + ": done" and
                  any(e.summary.startswith("configuration analyzed") for e in evs) and
                  evs[-2].summary.startswith("Analysis of ") and
                  "MP1002" in codes and "MP1001" in codes,
                  "%s subscriber: %s reports :latest and missing limits (%s), then %s" %
                  (s.name, analyze_op, sorted(codes), end.summary if end else None))

    # Provision: declarations applied as an operation whose events stream too.
    pr = ad["Provision"](pb.ProvisionRequest(declarations=[MANIFEST], kube_configs=[KUBECONFIG]),
                         timeout=10)
    pid = pr.message.split("as operation ")[-1].split(";")[0]
    check(pr.message.startswith("provisioning 1 declaration as operation "),
          "Provision: %s" % pr.message)
    for s in subs:
        ev = terminal(s, pid)
        evs = s.of(pid)
        check(ev is not None and ev.event_type == 0 and len(evs) == 2 and
              evs[0].summary.startswith("custom YAML applied") and
              ev.summary == "Provision declarations: done",
              "%s subscriber: provision's events (%s)" %
              (s.name, [e.summary for e in evs]))
    pr = mesh.Provision(pb.ProvisionRequest(), timeout=10)
    check(pr.message.startswith("error: no declarations"), "empty Provision refused")

    if a.drain_pid:
        drain(a, mesh, pb, subs)
    for s in subs:
        n = check_terminals(s)
        check(n >= 10, "%s subscriber: %d operations checked for their terminal event" %
              (s.name, n))
        s.call.cancel()
    ch.close()


def drain(a, mesh, pb, subs):
    """SIGTERM while an operation runs (the recorder sleeps in "kubectl apply -n drain-slow"):
    the operation is cancelled, its terminal ERROR event still reaches both subscribers,
    then their streams end with UNAVAILABLE."""
    oid = str(uuid.uuid4())
    mesh.ApplyOperation(pb.ApplyRuleRequest(opName="custom", namespace="drain-slow",
                                            custom_body=MANIFEST, operation_id=oid,
                                            kube_configs=[KUBECONFIG]), timeout=10)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and not [
            r for r in fake_runs(a.fake_log) if "drain-slow" in r["argv"] and "apply" in r["argv"]]:
        time.sleep(0.05)
    t0 = time.monotonic()
    os.kill(a.drain_pid, signal.SIGTERM)
    for s in subs:
        ev = terminal(s, oid, 30)
        check(ev is not None and ev.event_type == 2 and ev.error_code == "MPA1010" and
              s.of(oid)[-1] == ev,
              "%s subscriber: the running operation's ERROR event after SIGTERM (%s)" %
              (s.name, ev.summary if ev else None))
        s.thread.join(30)
        check(not s.thread.is_alive() and s.code == grpc.StatusCode.UNAVAILABLE,
              "%s stream ended with UNAVAILABLE after the drain (%s)" % (s.name, s.code))
    check(time.monotonic() - t0 < 20, "drained in %.1f s" % (time.monotonic() - t0))


if __name__ == "__main__":
    stubs = load_stubs()
    try:
        main()
    finally:
        shutil.rmtree(stubs, ignore_errors=True)
    if failures:
        sys.exit("%d check(s) failed" % len(failures))
    print("all adapter interop checks passed")
