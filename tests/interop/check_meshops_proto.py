#!/usr/bin/python3
"""Checks protos/meshes/meshops.proto against Meshery's adapter API, field by field:
the package, service, methods, message names, field names, numbers, types and labels
must match, or Meshery servers and adapters cannot talk to ours."""
import os
import sys
import tempfile

from google.protobuf import descriptor_pb2
from grpc_tools import protoc

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
F = descriptor_pb2.FieldDescriptorProto
S, B, E, M = F.TYPE_STRING, F.TYPE_BOOL, F.TYPE_ENUM, F.TYPE_MESSAGE
ONE, REP = F.LABEL_OPTIONAL, F.LABEL_REPEATED

# message -> [(field, number, type, label)] as Meshery defines them.
MESSAGES = {
    "MeshNameRequest": [],
    "MeshNameResponse": [("name", 1, S, ONE)],
    "MeshVersionsRequest": [],
    "MeshVersionsResponse": [("version", 1, S, REP)],
    "ApplyRuleRequest": [("opName", 1, S, ONE), ("namespace", 2, S, ONE), ("username", 3, S, ONE),
                         ("custom_body", 4, S, ONE), ("delete_op", 5, B, ONE),
                         ("operation_id", 6, S, ONE), ("kube_configs", 7, S, REP),
                         ("version", 8, S, ONE)],
    "ApplyRuleResponse": [("error", 1, S, ONE), ("operation_id", 2, S, ONE)],
    "SupportedOperation": [("key", 1, S, ONE), ("value", 2, S, ONE), ("category", 3, E, ONE)],
    "SupportedOperationsRequest": [],
    "SupportedOperationsResponse": [("ops", 1, M, REP), ("error", 2, S, ONE)],
    "EventsRequest": [],
    "EventsResponse": [("event_type", 1, E, ONE), ("summary", 2, S, ONE), ("details", 3, S, ONE),
                       ("operation_id", 4, S, ONE), ("probable_cause", 5, S, ONE),
                       ("suggested_remediation", 6, S, ONE), ("error_code", 7, S, ONE),
                       ("component", 8, S, ONE), ("component_name", 9, S, ONE)],
    "ProvisionRequest": [("username", 1, S, ONE), ("delete_op", 2, B, ONE),
                         ("declarations", 3, S, REP), ("kube_configs", 4, S, REP)],
    "ProvisionResponse": [("message", 1, S, ONE)],
    "ComponentInfoRequest": [],
    "ComponentInfoResponse": [("type", 1, S, ONE), ("name", 2, S, ONE), ("version", 3, S, ONE),
                              ("git_sha", 4, S, ONE), ("properties", 5, M, REP)],
}
ENUMS = {
    "OpCategory": [("INSTALL", 0), ("SAMPLE_APPLICATION", 1), ("CONFIGURE", 2), ("VALIDATE", 3),
                   ("CUSTOM", 4)],
    "EventType": [("INFO", 0), ("WARN", 1), ("ERROR", 2)],
}
# method -> (input, output, server_streaming)
METHODS = {
    "MeshName": ("MeshNameRequest", "MeshNameResponse", False),
    "MeshVersions": ("MeshVersionsRequest", "MeshVersionsResponse", False),
    "ApplyOperation": ("ApplyRuleRequest", "ApplyRuleResponse", False),
    "SupportedOperations": ("SupportedOperationsRequest", "SupportedOperationsResponse", False),
    "StreamEvents": ("EventsRequest", "EventsResponse", True),
    "Provision": ("ProvisionRequest", "ProvisionResponse", False),
    "ComponentInfo": ("ComponentInfoRequest", "ComponentInfoResponse", False),
}

errors = []
with tempfile.TemporaryDirectory() as tmp:
    out = os.path.join(tmp, "set.pb")
    if protoc.main(["protoc", "-I" + os.path.join(ROOT, "protos"), "--descriptor_set_out=" + out,
                    "meshes/meshops.proto"]) != 0:
        sys.exit("protoc failed")
    fds = descriptor_pb2.FileDescriptorSet()
    with open(out, "rb") as f:
        fds.ParseFromString(f.read())
fd = fds.file[0]
if fd.package != "meshes":
    errors.append("package is %r, not 'meshes'" % fd.package)
msgs = {m.name: m for m in fd.message_type}
for name, fields in MESSAGES.items():
    m = msgs.get(name)
    if not m:
        errors.append("message %s is missing" % name)
        continue
    got = [(f.name, f.number, f.type, f.label) for f in m.field]
    if got != fields:
        errors.append("message %s: fields %s, want %s" % (name, got, fields))
props = [n for n in msgs["ComponentInfoResponse"].nested_type if n.options.map_entry]
if len(props) != 1 or [(f.name, f.type) for f in props[0].field] != [("key", S), ("value", S)]:
    errors.append("ComponentInfoResponse.properties is not map<string,string>")
if msgs["SupportedOperationsResponse"].field[0].type_name != ".meshes.SupportedOperation":
    errors.append("SupportedOperationsResponse.ops is not SupportedOperation")
enums = {e.name: e for e in fd.enum_type}
for name, values in ENUMS.items():
    got = [(v.name, v.number) for v in enums[name].value] if name in enums else None
    if got != values:
        errors.append("enum %s: %s, want %s" % (name, got, values))
svc = [s for s in fd.service if s.name == "MeshService"]
if not svc:
    errors.append("service MeshService is missing")
else:
    got = {m.name: (m.input_type.split(".")[-1], m.output_type.split(".")[-1],
                    m.server_streaming) for m in svc[0].method}
    if got != METHODS:
        errors.append("MeshService methods %s, want %s" % (got, METHODS))
for e in errors:
    print("MISMATCH: " + e)
if errors:
    sys.exit(1)
print("meshes.MeshService matches Meshery's adapter API: %d messages, %d methods" %
      (len(MESSAGES), len(METHODS)))
