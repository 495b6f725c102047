#!/usr/bin/env bash
# Validates what users deploy with, without a container engine (none runs here):
#  - docker-compose.yml with Debian's docker-compose (`config`), and its service set;
#  - deploy/kubernetes with meshplane's own analyzer (no warning or error) and a check
#    that every workload has probes, resource limits and a pinned image;
#  - deploy/docker/Dockerfile: every runtime target runs as non-root with a health check.
# Usage: check_deploy.sh SOURCE_DIR ANALYZER_BIN
set -euo pipefail
src=$1
analyzer=$2
cd "$src"

command -v docker-compose >/dev/null || { echo "docker-compose not found: scripts/deps.sh installs it"; exit 1; }
docker-compose -f docker-compose.yml config -q
services=$(docker-compose -f docker-compose.yml config --services | sort | tr '\n' ' ')
want="haproxy istio linkerd loadgen-1 loadgen-2 nats nginx postgres server "
[ "$services" = "$want" ] || { echo "compose services: '$services', want '$want'"; exit 1; }
echo "ok   docker-compose.yml is valid: $services"

"$analyzer" --failure-threshold warning deploy/kubernetes/*.yaml
echo "ok   deploy/kubernetes passes meshplane's analyzer"

/usr/bin/python3 - deploy/kubernetes/*.yaml <<'PY'
import sys, yaml
workloads = 0
for path in sys.argv[1:]:
    for doc in yaml.safe_load_all(open(path)):
        if not doc or doc.get("kind") not in ("Deployment", "StatefulSet"):
            continue
        workloads += 1
        name = doc["metadata"]["name"]
        assert doc["metadata"].get("namespace") == "meshplane", name
        for c in doc["spec"]["template"]["spec"]["containers"]:
            assert "readinessProbe" in c and "livenessProbe" in c, "%s/%s: probes" % (name, c["name"])
            assert "limits" in c.get("resources", {}), "%s/%s: limits" % (name, c["name"])
            image = c["image"]
            assert ":" in image and not image.endswith(":latest"), "%s: image %s" % (name, image)
print("ok   %d workloads have probes, limits and pinned images" % workloads)
assert workloads >= 8, workloads
PY

df=deploy/docker/Dockerfile
for target in server loadgen adapter host-adapter; do
  block=$(awk -v t="$target" '/^FROM /{on = ($0 ~ (" AS " t "$"))} on' "$df")
  grep -q '^USER meshplane' <<<"$block" || { echo "Dockerfile target $target: no non-root USER"; exit 1; }
  grep -q '^HEALTHCHECK' <<<"$block" || { echo "Dockerfile target $target: no HEALTHCHECK"; exit 1; }
done
grep -q '^FROM debian:12 AS build' "$df" || { echo "Dockerfile: no Debian 12 build stage"; exit 1; }
echo "ok   Dockerfile: Debian 12, multi-stage, non-root, health checks"
