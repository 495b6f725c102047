#!/bin/bash
# A RECORDER, NOT A CLUSTER. Tests put symlinks named kubectl, helm, istioctl, linkerd, ...
# to this script first on the adapter's PATH; each run records what the adapter passed and
# succeeds without touching any cluster. Per run it writes $MP_FAKE_LOG/<time>-<pid>/:
#   argv             the tool name, then one argument per line
#   stdin            what the adapter fed on stdin
#   env              the environment the tool got
#   kubeconfig.mode  for --kubeconfig=FILE: the file's permission bits (and kubeconfig, a
#   kubeconfig       copy of it, and kubeconfig.path, its path)
# Knobs (environment):
#   MP_FAKE_FAIL="substring|exit code|stderr"  fail runs whose "tool args..." contain substring
#   MP_FAKE_STDOUT                             print this on stdout
#   MP_FAKE_SLEEP                              sleep this many seconds first
#   MP_FAKE_SLEEP_IF                           ... only in runs whose "tool args..." contain it
set -u
PATH=/usr/bin:/bin
log=${MP_FAKE_LOG:?MP_FAKE_LOG is not set}
d="$log/$(date +%s%N)-$$"
mkdir -p "$d"
tool=$(basename "$0")
printf '%s\n' "$tool" "$@" >"$d/argv"
cat >"$d/stdin"
env >"$d/env"
for a in "$@"; do
  case "$a" in
  --kubeconfig=*)
    f=${a#--kubeconfig=}
    stat -c '%a' "$f" >"$d/kubeconfig.mode"
    cp "$f" "$d/kubeconfig"
    printf '%s\n' "$f" >"$d/kubeconfig.path"
    ;;
  esac
done
if [ -n "${MP_FAKE_SLEEP:-}" ]; then
  case "$tool $*" in *"${MP_FAKE_SLEEP_IF:-}"*) sleep "$MP_FAKE_SLEEP" ;; esac
fi
if [ -n "${MP_FAKE_FAIL:-}" ]; then
  pat=${MP_FAKE_FAIL%%|*}
  rest=${MP_FAKE_FAIL#*|}
  code=${rest%%|*}
  msg=${rest#*|}
  case "$tool $*" in *"$pat"*)
    printf '%s\n' "$msg" >&2
    exit "$code"
    ;;
  esac
fi
[ -n "${MP_FAKE_STDOUT:-}" ] && printf '%s\n' "$MP_FAKE_STDOUT"
exit 0
