#!/usr/bin/python3
"""meshplane-loadgen vs wrk, the method of shared/design/BENCHMARKS.md.

Target: a private nginx from Debian, one worker, `location / { return 200 "hello\\n"; }`,
access log off, on 127.0.0.1. Both generators send the same request bytes (ours with
--user-agent "" so it matches wrk's "GET / HTTP/1.1 + Host").

1. Max mode: -t1 -c50, 5 s runs, alternating ours / wrk (rounds times), medians of:
   throughput (req/s), generator CPU (user+sys from wait4) per request, nginx worker CPU per
   request. Ratios: throughput ours/wrk (>= 0.97), efficiency (wrk CPU/req)/(ours CPU/req)
   (>= 1.05).
2. System calls per request of both generators (strace -c -f; slows both, counts only).
3. Constant rate: requested vs achieved at 1k, 10k, 50k req/s (error <= 0.5 %), late sends.
4. Memory: max RSS of ours at 1,000 connections (<= 64 MiB).

Run on demand: cmake --build build --target bench_loadgen_vs_wrk, or
  /usr/bin/python3 tests/bench/loadgen_vs_wrk.py --loadgen build/bin/meshplane-loadgen
Prints the figures; exits 1 only when something could not run.
"""
import argparse
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Nginx:
    def __init__(self, binary):
        self.dir = tempfile.mkdtemp(prefix="mp-lg-bench-")
        self.port = free_port()
        user = "user root;\n" if os.geteuid() == 0 else ""
        conf = os.path.join(self.dir, "nginx.conf")
        with open(conf, "w") as f:
            f.write(f"""worker_processes 1;
daemon off;
{user}error_log {self.dir}/error.log warn;
pid {self.dir}/nginx.pid;
events {{ worker_connections 4096; }}
http {{
  access_log off;
  client_body_temp_path {self.dir}/body;
  proxy_temp_path {self.dir}/proxy;
  fastcgi_temp_path {self.dir}/fastcgi;
  uwsgi_temp_path {self.dir}/uwsgi;
  scgi_temp_path {self.dir}/scgi;
  server {{
    listen 127.0.0.1:{self.port};
    location / {{ return 200 "hello\\n"; }}
  }}
}}
""")
        self.proc = subprocess.Popen([binary, "-p", self.dir, "-c", conf],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.01)
        else:
            raise RuntimeError("nginx did not start; see " + self.dir)
        self.worker = None
        for _ in range(100):
            kids = subprocess.run(["pgrep", "-P", str(self.proc.pid)], capture_output=True,
                                  text=True).stdout.split()
            if kids:
                self.worker = int(kids[0])
                break
            time.sleep(0.01)
        self.url = f"http://127.0.0.1:{self.port}/"

    def cpu_seconds(self):
        """user+sys of the nginx worker so far."""
        with open(f"/proc/{self.worker}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


def run(cmd):
    """Runs cmd; returns (stdout text, cpu seconds user+sys, max rss KiB, wall seconds)."""
    t0 = time.monotonic()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    out = p.stdout.read()
    _, status, ru = os.wait4(p.pid, 0)
    p.returncode = os.waitstatus_to_exitcode(status)
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited {p.returncode}:\n{out}")
    return out, ru.ru_utime + ru.ru_stime, ru.ru_maxrss, time.monotonic() - t0


def ours_cmd(a, url, extra):
    return [a.loadgen, "run", "--user-agent", "", *extra, url]


def parse_ours(out):
    n = int(re.search(r"^Requests:\s+(\d+) in ([\d.]+)s", out, re.M).group(1))
    rate = float(re.search(r"^Rate:\s+([\d.]+) req/s actual", out, re.M).group(1))
    errors = int(re.search(r"^Errors:\s+(\d+)", out, re.M).group(1))
    late = re.search(r"^Late sends:\s+(\d+) \([^)]*\) later than [^,]*, max lag (\S+)", out, re.M)
    return n, rate, errors, (int(late.group(1)), late.group(2)) if late else None


def parse_wrk(out):
    n = int(re.search(r"(\d+) requests in", out).group(1))
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    e = int(errors.group(1)) if errors else 0
    if sock:
        e += sum(int(x) for x in sock.groups())
    return n, rate, e


def max_mode(a, ng):
    print(f"== max mode: -t{a.threads} -c{a.connections}, {a.duration}s runs, "
          f"{a.rounds} rounds alternating (target {ng.url})")
    res = {"ours": [], "wrk": []}
    for r in range(a.rounds):
        for tool in ("ours", "wrk"):
            before = ng.cpu_seconds()
            if tool == "ours":
                out, cpu, _, _ = run(ours_cmd(a, ng.url, ["-t", str(a.threads), "-c",
                                                          str(a.connections), "-d",
                                                          f"{a.duration}s"]))
                n, rate, err, _ = parse_ours(out)
            else:
                out, cpu, _, _ = run([a.wrk, f"-t{a.threads}", f"-c{a.connections}",
                                      f"-d{a.duration}s", ng.url])
                n, rate, err = parse_wrk(out)
            ngx = ng.cpu_seconds() - before
            res[tool].append((rate, cpu / n, ngx / n))
            print(f"  round {r + 1} {tool:4}: {rate:10.0f} req/s  {n:8d} requests  errors {err}"
                  f"  generator {cpu:5.2f} CPU-s = {1e6 * cpu / n:5.2f} us/req"
                  f"  nginx {1e6 * ngx / n:5.2f} us/req")
    med = {t: [statistics.median(x[i] for x in v) for i in range(3)] for t, v in res.items()}
    thr = med["ours"][0] / med["wrk"][0]
    eff = med["wrk"][1] / med["ours"][1]
    print(f"  medians: ours {med['ours'][0]:.0f} req/s, {1e6 * med['ours'][1]:.2f} us CPU/req; "
          f"wrk {med['wrk'][0]:.0f} req/s, {1e6 * med['wrk'][1]:.2f} us CPU/req")
    print(f"  throughput ratio ours/wrk = {thr:.3f}   (target >= 0.97: "
          f"{'PASS' if thr >= 0.97 else 'FAIL'})")
    print(f"  efficiency ratio (wrk CPU/req)/(ours CPU/req) = {eff:.3f}   (target >= 1.05: "
          f"{'PASS' if eff >= 1.05 else 'FAIL'})")
    print(f"  nginx worker CPU per request: with ours {1e6 * med['ours'][2]:.2f} us, "
          f"with wrk {1e6 * med['wrk'][2]:.2f} us")


def strace_counts(cmd):
    with tempfile.NamedTemporaryFile(prefix="mp-lg-strace-", suffix=".txt", delete=False) as f:
        path = f.name
    out, _, _, _ = run(["strace", "-c", "-f", "-o", path, *cmd])
    calls = {}
    with open(path) as f:
        for line in f:
            m = re.match(r"\s*[\d.]+\s+[\d.]+\s+\d+\s+(\d+)\s+(?:\d+\s+)?(\w+)$", line)
            if m and m.group(2) != "total":
                calls[m.group(2)] = int(m.group(1))
    os.unlink(path)
    return out, calls


def syscalls(a, ng):
    if not shutil.which("strace"):
        print("== syscalls: strace not installed, skipped")
        return
    d = max(2, a.duration // 2)
    print(f"== system calls per request (strace -c -f, {d}s runs; strace slows both)")
    for tool in ("ours", "wrk"):
        if tool == "ours":
            out, calls = strace_counts(ours_cmd(a, ng.url, ["-t", str(a.threads), "-c",
                                                            str(a.connections), "-d", f"{d}s"]))
            n = parse_ours(out)[0]
        else:
            out, calls = strace_counts([a.wrk, f"-t{a.threads}", f"-c{a.connections}", f"-d{d}s",
                                        ng.url])
            n = parse_wrk(out)[0]
        total = sum(calls.values())
        top = sorted(calls.items(), key=lambda kv: -kv[1])[:5]
        print(f"  {tool:4}: {total / n:5.2f} syscalls/request ({n} requests): " +
              ", ".join(f"{k} {v / n:.2f}" for k, v in top))


def constant_rate(a, ng):
    print(f"== constant rate: {a.duration}s runs, -c{a.rate_connections}")
    for rate in a.rates:
        threads = a.rate_threads
        out, cpu, _, _ = run(ours_cmd(a, ng.url, ["-t", str(threads), "-c",
                                                  str(a.rate_connections), "-R", str(rate), "-d",
                                                  f"{a.duration}s"]))
        n, got, err, late = parse_ours(out)
        dev = 100.0 * (got - rate) / rate
        print(f"  requested {rate:6d} req/s -t{threads}: achieved {got:10.2f} req/s ({dev:+.3f} %, "
              f"{'PASS' if abs(dev) <= 0.5 else 'FAIL'} at 0.5 %), {n} requests, errors {err}, "
              f"late sends {late[0]} (max lag {late[1]}), generator {cpu:.2f} CPU-s")


def memory(a, ng):
    out, _, rss, _ = run(ours_cmd(a, ng.url, ["-t", "1", "-c", "1000", "-d", "2s"]))
    n = parse_ours(out)[0]
    print(f"== memory: -t1 -c1000 2s: max RSS {rss / 1024:.1f} MiB ({n} requests; target <= 64 "
          f"MiB: {'PASS' if rss <= 64 * 1024 else 'FAIL'})")


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--loadgen", default=os.path.join(here, "../../build/bin/meshplane-loadgen"))
    ap.add_argument("--wrk", default=shutil.which("wrk") or "/usr/bin/wrk")
    ap.add_argument("--nginx", default="/usr/sbin/nginx")
    ap.add_argument("--duration", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--connections", type=int, default=50)
    ap.add_argument("--rate-connections", type=int, default=100)
    ap.add_argument("--rate-threads", type=int, default=1,
                    help="threads for the constant-rate runs (on 2 CPUs nginx needs the other)")
    ap.add_argument("--rates", default="1000,10000,50000")
    ap.add_argument("--skip", default="", help="comma list of: max,syscalls,rate,memory")
    a = ap.parse_args()
    a.rates = [int(x) for x in a.rates.split(",") if x]
    skip = set(a.skip.split(","))
    for b in (a.loadgen, a.wrk, a.nginx):
        if not os.access(b, os.X_OK):
            sys.exit(f"loadgen_vs_wrk: {b} is missing (build meshplane-loadgen; scripts/deps.sh)")
    ng = Nginx(a.nginx)
    try:
        print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}")
        if "max" not in skip:
            max_mode(a, ng)
        if "syscalls" not in skip:
            syscalls(a, ng)
        if "rate" not in skip:
            constant_rate(a, ng)
        if "memory" not in skip:
            memory(a, ng)
    finally:
        ng.stop()


if __name__ == "__main__":
    main()
