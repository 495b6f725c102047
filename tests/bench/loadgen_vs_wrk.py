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
5. TLS: the max-mode comparison over https (nginx with a test certificate), ours vs wrk.
6. HTTP/2: ours vs h2load (Debian's nghttp2-client) over h2c and h2 (TLS), the same
   connections and streams per connection (-c10 -m10), throughput and CPU per request.

--baseline BIN adds another meshplane-loadgen build to the max-mode rounds and the system
call counts (before/after comparisons of the HTTP/1.1 hot path in one sitting).

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
    def __init__(self, binary, certs_script=None):
        self.dir = tempfile.mkdtemp(prefix="mp-lg-bench-")
        self.port = free_port()
        self.tls_port = self.h2c_port = None
        tls = ""
        if certs_script:
            subprocess.run(["/bin/bash", certs_script, self.dir + "/certs"], check=True)
            self.tls_port, self.h2c_port = free_port(), free_port()
            # keepalive_requests: h2load does not reconnect after nginx's GOAWAY (every
            # 1,000 requests by default), and handshakes would blur the steady state.
            tls = f"""  server {{
    listen 127.0.0.1:{self.tls_port} ssl http2;
    ssl_certificate {self.dir}/certs/server.pem;
    ssl_certificate_key {self.dir}/certs/server.key;
    keepalive_requests 100000000;
    location / {{ return 200 "hello\\n"; }}
  }}
  server {{
    listen 127.0.0.1:{self.h2c_port} http2;
    keepalive_requests 100000000;
    location / {{ return 200 "hello\\n"; }}
  }}
"""
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
{tls}}}
""")
        self.proc = subprocess.Popen([binary, "-p", self.dir, "-c", conf],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for port in [p for p in (self.port, self.tls_port, self.h2c_port) if p]:
            for _ in range(200):
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
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


def ours_cmd(a, url, extra, binary=None):
    return [binary or a.loadgen, "run", "--user-agent", "", *extra, url]


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


def tools(a):
    """The generators of a max-mode comparison: ours, the baseline build if given, wrk."""
    return ["ours"] + (["base"] if a.baseline else []) + ["wrk"]


def max_mode(a, ng, url=None, title="max mode", extra=(), baseline=True):
    url = url or ng.url
    print(f"== {title}: -t{a.threads} -c{a.connections}, {a.duration}s runs, "
          f"{a.rounds} rounds alternating (target {url})")
    res = {t: [] for t in tools(a) if baseline or t != "base"}
    for r in range(a.rounds):
        for tool in res:
            before = ng.cpu_seconds()
            if tool in ("ours", "base"):
                out, cpu, _, _ = run(ours_cmd(a, url, ["-t", str(a.threads), "-c",
                                                       str(a.connections), "-d",
                                                       f"{a.duration}s", *extra],
                                              a.baseline if tool == "base" else None))
                n, rate, err, _ = parse_ours(out)
            else:
                out, cpu, _, _ = run([a.wrk, f"-t{a.threads}", f"-c{a.connections}",
                                      f"-d{a.duration}s", url])
                n, rate, err = parse_wrk(out)
            ngx = ng.cpu_seconds() - before
            res[tool].append((rate, cpu / n, ngx / n))
            print(f"  round {r + 1} {tool:4}: {rate:10.0f} req/s  {n:8d} requests  errors {err}"
                  f"  generator {cpu:5.2f} CPU-s = {1e6 * cpu / n:5.2f} us/req"
                  f"  nginx {1e6 * ngx / n:5.2f} us/req")
    med = {t: [statistics.median(x[i] for x in v) for i in range(3)] for t, v in res.items()}
    thr = med["ours"][0] / med["wrk"][0]
    eff = med["wrk"][1] / med["ours"][1]
    for t in res:
        print(f"  median {t:4}: {med[t][0]:.0f} req/s, {1e6 * med[t][1]:.2f} us CPU/req, "
              f"nginx {1e6 * med[t][2]:.2f} us/req")
    print(f"  throughput ratio ours/wrk = {thr:.3f}   (target >= 0.97: "
          f"{'PASS' if thr >= 0.97 else 'FAIL'})")
    print(f"  efficiency ratio (wrk CPU/req)/(ours CPU/req) = {eff:.3f}   (target >= 1.05: "
          f"{'PASS' if eff >= 1.05 else 'FAIL'})")
    if "base" in res:
        print(f"  ours vs baseline: throughput {med['ours'][0] / med['base'][0]:.3f}, "
              f"CPU per request {med['ours'][1] / med['base'][1]:.3f} (< 1: ours cheaper)")


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
    for tool in tools(a):
        if tool in ("ours", "base"):
            out, calls = strace_counts(ours_cmd(a, ng.url, ["-t", str(a.threads), "-c",
                                                            str(a.connections), "-d", f"{d}s"],
                                                a.baseline if tool == "base" else None))
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


def tls(a, ng):
    if not ng.tls_port:
        print("== TLS: no certificate script, skipped")
        return
    max_mode(a, ng, f"https://127.0.0.1:{ng.tls_port}/", "TLS (https, HTTP/1.1)", ["-k"],
             baseline=False)


def parse_h2load(out):
    m = re.search(r"finished in ([\d.]+)s, ([\d.]+) req/s", out)
    done = re.search(r"requests: \d+ total, \d+ started, (\d+) done, (\d+) succeeded", out)
    return int(done.group(1)), float(m.group(2)), int(done.group(1)) - int(done.group(2))


def http2(a, ng):
    if not ng.h2c_port:
        print("== HTTP/2: no certificate script, skipped")
        return
    if not a.h2load or not os.access(a.h2load, os.X_OK):
        print("== HTTP/2: h2load (nghttp2-client) not installed, skipped")
        return
    c, m = a.h2_connections, a.h2_streams
    for name, url in (("h2c", f"http://127.0.0.1:{ng.h2c_port}/"),
                      ("h2 over TLS", f"https://127.0.0.1:{ng.tls_port}/")):
        print(f"== HTTP/2 {name}: -t1 -c{c}, {m} streams per connection, {a.duration}s runs, "
              f"{a.rounds} rounds alternating with h2load")
        res = {"ours": [], "h2load": []}
        for r in range(a.rounds):
            for tool in res:
                before = ng.cpu_seconds()
                if tool == "ours":
                    out, cpu, _, _ = run(ours_cmd(a, url, ["-t1", f"-c{c}", "--http2", "-k",
                                                           "--streams", str(m),
                                                           "-d", f"{a.duration}s"]))
                    n, rate, err, _ = parse_ours(out)
                else:
                    out, cpu, _, _ = run([a.h2load, "-t1", f"-c{c}", f"-m{m}", "-D",
                                          str(a.duration), url])
                    n, rate, err = parse_h2load(out)
                ngx = ng.cpu_seconds() - before
                res[tool].append((rate, cpu / n, ngx / n))
                print(f"  round {r + 1} {tool:6}: {rate:10.0f} req/s  {n:8d} requests  "
                      f"errors {err}  generator {1e6 * cpu / n:5.2f} us CPU/req  "
                      f"nginx {1e6 * ngx / n:5.2f} us/req")
        med = {t: [statistics.median(x[i] for x in v) for i in range(3)] for t, v in res.items()}
        print(f"  medians: ours {med['ours'][0]:.0f} req/s {1e6 * med['ours'][1]:.2f} us/req; "
              f"h2load {med['h2load'][0]:.0f} req/s {1e6 * med['h2load'][1]:.2f} us/req; "
              f"throughput ratio {med['ours'][0] / med['h2load'][0]:.3f}, efficiency ratio "
              f"{med['h2load'][1] / med['ours'][1]:.3f}")


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
    ap.add_argument("--baseline", help="another meshplane-loadgen build to compare with")
    ap.add_argument("--h2load", default=shutil.which("h2load") or "/usr/bin/h2load")
    ap.add_argument("--h2-connections", type=int, default=10)
    ap.add_argument("--h2-streams", type=int, default=10)
    ap.add_argument("--certs", default=os.path.join(here, "../loadgen/make_tls_certs.sh"),
                    help="the script that makes the TLS test certificates")
    ap.add_argument("--skip", default="",
                    help="comma list of: max,syscalls,rate,memory,tls,h2")
    a = ap.parse_args()
    a.rates = [int(x) for x in a.rates.split(",") if x]
    skip = set(a.skip.split(","))
    for b in (a.loadgen, a.wrk, a.nginx):
        if not os.access(b, os.X_OK):
            sys.exit(f"loadgen_vs_wrk: {b} is missing (build meshplane-loadgen; scripts/deps.sh)")
    ng = Nginx(a.nginx, a.certs if os.path.exists(a.certs) else None)
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
        if "tls" not in skip:
            tls(a, ng)
        if "h2" not in skip:
            http2(a, ng)
    finally:
        ng.stop()


if __name__ == "__main__":
    main()
