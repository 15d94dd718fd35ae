#!/usr/bin/env python3
"""Side-by-side benchmark: Ember vs Prometheus 2.42 vs VictoriaMetrics 1.79.

Runs the systems one after the other on this machine, each scraping the same fake
node_exporter targets (crates/bench, `fake-exporter`), and prints one markdown table:

- RSS bytes per active series (VmRSS after ingestion / the system's own series count),
- CPU seconds per million samples ingested (utime+stime over a window / samples appended),
- client-side median latency of three queries,
- time to ready after SIGKILL + restart (WAL replay) and peak RSS while recovering.

Everything binds 127.0.0.1; every process started here is stopped by its pid.
Standard library only. See docs/benchmarks.md for how to run it.
"""

import argparse
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CLK_TCK = os.sysconf("SC_CLK_TCK")

QUERIES = [
    ("range", "rate(node_cpu_seconds_total[5m])"),
    ("instant", 'avg(rate(node_cpu_seconds_total{mode!="idle"}[5m])) by (instance)'),
    ("instant", 'count by (__name__)({__name__=~".+"})'),
]


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_get(url, timeout=120):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.status, r.read()


def proc_status(pid):
    """VmRSS and VmHWM in bytes."""
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(("VmRSS:", "VmHWM:")):
                k, v = line.split(":", 1)
                out[k] = int(v.split()[0]) * 1024
    return out


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    # fields[0] is state (field 3); utime is field 14, stime field 15.
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def metric_sum(text, name, label_filter=None):
    """Sums every sample of `name` in an exposition body (optionally only lines containing
    `label_filter`). Returns None when there is none."""
    total, seen = 0.0, False
    for line in text.splitlines():
        if not line.startswith(name) or line.startswith("#"):
            continue
        rest = line[len(name):]
        if not (rest.startswith("{") or rest.startswith(" ")):
            continue
        if label_filter and label_filter not in rest:
            continue
        try:
            total += float(rest.rsplit(" ", 1)[-1]) if rest.startswith(" ") else float(
                rest.split("}", 1)[1].split()[0])
            seen = True
        except (ValueError, IndexError):
            pass
    return total if seen else None


class System:
    """One system under test: how to start it and read its figures."""

    def __init__(self, name, binary, config, workdir):
        self.name = name
        self.binary = binary
        self.config = config
        self.data = os.path.join(workdir, f"data-{name}")
        self.logpath = os.path.join(workdir, f"{name}.log")
        os.makedirs(self.data, exist_ok=True)
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.proc = None

    def argv(self):
        if self.name == "ember":
            return [self.binary, "server", f"--config.file={self.config}",
                    f"--storage.tsdb.path={self.data}",
                    f"--web.listen-address=127.0.0.1:{self.port}"]
        if self.name == "prometheus":
            return [self.binary, f"--config.file={self.config}",
                    f"--storage.tsdb.path={self.data}",
                    f"--web.listen-address=127.0.0.1:{self.port}"]
        if self.name == "vm":
            return [self.binary, f"-httpListenAddr=127.0.0.1:{self.port}",
                    f"-storageDataPath={self.data}", "-retentionPeriod=1",
                    "-search.latencyOffset=0s", "-search.disableCache",
                    f"-promscrape.config={self.config}"]
        raise ValueError(self.name)

    @property
    def ready_path(self):
        return "/health" if self.name == "vm" else "/-/ready"

    def start(self):
        logf = open(self.logpath, "ab")
        logf.write(f"\n==== start {time.ctime()}: {' '.join(self.argv())}\n".encode())
        logf.flush()
        self.proc = subprocess.Popen(self.argv(), stdout=logf, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, cwd=self.data)
        logf.close()
        return time.monotonic()

    def wait_ready(self, timeout, on_poll=None):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode}; "
                                   f"see {self.logpath}")
            if on_poll:
                on_poll()
            try:
                status, _ = http_get(self.base + self.ready_path, timeout=2)
                if status == 200:
                    return time.monotonic()
            except Exception:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"{self.name} not ready after {timeout}s")

    def stop(self, sig=signal.SIGTERM, timeout=60):
        if not self.proc or self.proc.poll() is not None:
            return
        self.proc.send_signal(sig)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            log(f"{self.name} (pid {self.proc.pid}) did not stop in {timeout}s; SIGKILL")
            self.proc.kill()
            self.proc.wait()

    def metrics(self):
        return http_get(self.base + "/metrics")[1].decode()

    def series(self, text):
        if self.name == "vm":
            return metric_sum(text, "vm_cache_entries", 'type="storage/hour_metric_ids"')
        return metric_sum(text, "prometheus_tsdb_head_series")

    def samples(self, text):
        if self.name == "vm":
            return metric_sum(text, "vm_rows_inserted_total")
        return metric_sum(text, "prometheus_tsdb_head_samples_appended_total")

    def query(self, kind, q, now):
        if kind == "range":
            params = {"query": q, "start": f"{now - 300:.3f}", "end": f"{now:.3f}",
                      "step": "15"}
            path = "/api/v1/query_range"
        else:
            params = {"query": q, "time": f"{now:.3f}"}
            path = "/api/v1/query"
        t0 = time.perf_counter()
        _, body = http_get(self.base + path + "?" + urllib.parse.urlencode(params),
                           timeout=300)
        dt = time.perf_counter() - t0
        doc = json.loads(body)
        if doc.get("status") != "success":
            raise RuntimeError(f"{self.name}: {q}: {body[:300]!r}")
        return dt, doc["data"]["result"]


def write_config(path, targets, interval):
    lines = ["global:", f"  scrape_interval: {interval}s", f"  scrape_timeout: {min(10, interval)}s",
             "scrape_configs:", "  - job_name: node", "    static_configs:",
             "      - targets:"]
    lines += [f"          - '{t}'" for t in targets]
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


def count_log_problems(path):
    bad = []
    with open(path, errors="replace") as f:
        for line in f:
            low = line.lower()
            if "received sigterm" in low:
                continue
            if ("level=error" in low or "level=warn" in low or " error " in low
                    or " warn " in low or "panic" in low or "\terror\t" in low
                    or "\twarn\t" in low or '"level":"error"' in low):
                bad.append(line.rstrip())
    return bad


def run_system(system, args, n_targets):
    r = {"system": system.name}
    log(f"{system.name}: starting on {system.base}")
    t_start = system.start()
    system.wait_ready(120)
    r["startup_s"] = time.monotonic() - t_start
    pid = system.proc.pid

    # Let the first scrapes create every series, then measure a window.
    time.sleep(args.warmup)
    m0, c0, w0 = system.metrics(), cpu_seconds(pid), time.monotonic()
    s0 = system.samples(m0)
    remaining = args.ingest - args.warmup
    log(f"{system.name}: measuring CPU for {remaining}s")
    time.sleep(remaining)
    m1, c1, w1 = system.metrics(), cpu_seconds(pid), time.monotonic()
    s1 = system.samples(m1)
    st = proc_status(pid)
    r["rss"] = st["VmRSS"]
    r["hwm"] = st["VmHWM"]
    r["series"] = system.series(m1)
    r["cpu_s"] = c1 - c0
    r["window_s"] = w1 - w0
    r["samples"] = (s1 or 0) - (s0 or 0)
    r["cpu_total_s"] = c1
    r["cpu_per_m"] = r["cpu_s"] / (r["samples"] / 1e6) if r["samples"] else None
    r["rss_per_series"] = r["rss"] / r["series"] if r["series"] else None

    now = time.time()
    _, up = system.query("instant", "count(up == 1)", now)
    r["targets_up"] = int(float(up[0]["value"][1])) if up else 0
    _, cnt = system.query("instant", 'count({__name__=~".+"})', now)
    r["series_by_query"] = int(float(cnt[0]["value"][1])) if cnt else 0

    # Query latency: one warm-up run, then the median of N.
    now = time.time() - 1
    r["queries"] = []
    for kind, q in QUERIES:
        system.query(kind, q, now)
        times, result = [], None
        for _ in range(args.query_runs):
            dt, result = system.query(kind, q, now)
            times.append(dt)
        r["queries"].append({"query": q, "median_s": statistics.median(times),
                             "min_s": min(times), "result_series": len(result)})
        log(f"{system.name}: {q}: median {statistics.median(times) * 1000:.1f} ms, "
            f"{len(result)} series")

    # Crash and recover.
    log(f"{system.name}: SIGKILL pid {pid} and restart")
    system.stop(signal.SIGKILL)
    peak = {"rss": 0}

    def poll_rss():
        try:
            peak["rss"] = max(peak["rss"], proc_status(system.proc.pid)["VmRSS"])
        except (FileNotFoundError, ProcessLookupError, KeyError):
            pass

    t0 = system.start()
    t1 = system.wait_ready(600, on_poll=poll_rss)
    r["ready_after_kill_s"] = t1 - t0
    # Ready is not always "all data back": also time until the series count is restored.
    r["series_after_restart"], r["restored_after_kill_s"] = None, None
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        poll_rss()
        try:
            n = system.series(system.metrics())
        except Exception:  # noqa: BLE001
            n = None
        r["series_after_restart"] = n
        if n and r["series"] and n >= 0.99 * r["series"]:
            r["restored_after_kill_s"] = time.monotonic() - t0
            break
        time.sleep(0.1)
    r["recover_peak_rss"] = max(peak["rss"], proc_status(system.proc.pid)["VmHWM"])
    system.stop(signal.SIGTERM)
    r["exit_code"] = system.proc.returncode
    r["log_problems"] = count_log_problems(system.logpath)
    log(f"{system.name}: done; {len(r['log_problems'])} warn/error log lines")
    return r


def fmt_num(v, digits=0):
    if v is None:
        return "n/a"
    if isinstance(v, str):
        return v
    return f"{v:,.{digits}f}"


def ratio(a, b):
    if a is None or b is None or b == 0:
        return "n/a"
    return f"{a / b:.2f}"


def table(results):
    by = {r["system"]: r for r in results}
    names = [n for n in ("ember", "prometheus", "vm") if n in by]
    header_names = {"ember": "Ember", "prometheus": "Prometheus 2.42", "vm": "VictoriaMetrics 1.79"}
    rows = [
        ("active series (own metric)", lambda r: r["series"], 0),
        ("series by `count({__name__=~\".+\"})`", lambda r: r["series_by_query"], 0),
        ("targets up", lambda r: r["targets_up"], 0),
        ("RSS after ingestion (MiB)", lambda r: r["rss"] / 2**20, 1),
        ("RSS bytes per active series", lambda r: r["rss_per_series"], 0),
        ("CPU s per million samples", lambda r: r["cpu_per_m"], 2),
        ("samples in CPU window", lambda r: r["samples"], 0),
    ]
    for i, (_, q) in enumerate(QUERIES):
        rows.append((f"`{q}` median (ms)",
                     (lambda i: lambda r: r["queries"][i]["median_s"] * 1000)(i), 1))
    rows += [
        ("ready after SIGKILL (s)", lambda r: r["ready_after_kill_s"], 2),
        ("series count restored after SIGKILL (s)", lambda r: r["restored_after_kill_s"], 2),
        ("peak RSS while recovering (MiB)", lambda r: r["recover_peak_rss"] / 2**20, 1),
    ]
    cols = [header_names[n] for n in names]
    ratio_cols = []
    if "ember" in by and "prometheus" in by:
        ratio_cols.append(("Ember/Prometheus", "prometheus"))
    if "ember" in by and "vm" in by:
        ratio_cols.append(("Ember/VM", "vm"))
    out = ["| figure | " + " | ".join(cols + [c for c, _ in ratio_cols]) + " |",
           "| --- |" + " ---: |" * (len(cols) + len(ratio_cols))]
    for label, get, digits in rows:
        vals = []
        for n in names:
            try:
                vals.append(get(by[n]))
            except (TypeError, KeyError, IndexError):
                vals.append(None)
        cells = [fmt_num(v, digits) for v in vals]
        for _, other in ratio_cols:
            try:
                cells.append(ratio(get(by["ember"]), get(by[other])))
            except (TypeError, KeyError, IndexError):
                cells.append("n/a")
        out.append(f"| {label} | " + " | ".join(cells) + " |")
    qrows = ["", "Result sizes (series returned), to check the systems answered the same:", ""]
    for i, (_, q) in enumerate(QUERIES):
        qrows.append(f"- `{q}`: " + ", ".join(
            f"{header_names[n]} {by[n]['queries'][i]['result_series']}" for n in names))
    return "\n".join(out + qrows)


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--targets", type=int, default=100)
    ap.add_argument("--interval", type=int, default=15, help="scrape interval, seconds")
    ap.add_argument("--ingest", type=int, default=240,
                    help="seconds of ingestion per system before measuring RSS")
    ap.add_argument("--warmup", type=int, default=60,
                    help="seconds after ready before the CPU window opens")
    ap.add_argument("--query-runs", type=int, default=10)
    ap.add_argument("--systems", default="ember,prometheus,vm")
    ap.add_argument("--ember", default=os.path.join(REPO, "target/release/ember"))
    ap.add_argument("--prometheus", default=shutil.which("prometheus") or "/usr/bin/prometheus")
    ap.add_argument("--victoria-metrics",
                    default=shutil.which("victoria-metrics") or "/usr/bin/victoria-metrics")
    ap.add_argument("--fake-exporter",
                    default=os.path.join(REPO, "target/release/fake-exporter"))
    ap.add_argument("--workdir", help="keep data and logs here (default: a temp dir, removed)")
    ap.add_argument("--json", help="also write the raw results here")
    args = ap.parse_args()
    if args.warmup >= args.ingest:
        ap.error("--warmup must be shorter than --ingest")

    workdir = args.workdir or tempfile.mkdtemp(prefix="ember-bench-")
    os.makedirs(workdir, exist_ok=True)
    binaries = {"ember": args.ember, "prometheus": args.prometheus,
                "vm": args.victoria_metrics}
    systems = args.systems.split(",")
    for s in systems + ["fake-exporter"]:
        b = binaries.get(s, args.fake_exporter)
        if not os.access(b, os.X_OK):
            sys.exit(f"missing binary for {s}: {b}")

    ports_file = os.path.join(workdir, "targets.txt")
    exporter = subprocess.Popen([args.fake_exporter, f"--targets={args.targets}",
                                 f"--ports-file={ports_file}"],
                                stdout=open(os.path.join(workdir, "exporter.log"), "wb"),
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    results, running = [], None
    try:
        for _ in range(200):
            if os.path.exists(ports_file):
                break
            time.sleep(0.05)
        targets = open(ports_file).read().split()
        config = os.path.join(workdir, "prometheus.yml")
        write_config(config, targets, args.interval)
        log(f"{len(targets)} fake targets; config {config}; workdir {workdir}")
        for name in systems:
            running = System(name, binaries[name], config, workdir)
            try:
                results.append(run_system(running, args, len(targets)))
            finally:
                running.stop(signal.SIGKILL if running.proc and running.proc.poll() is None
                              else signal.SIGTERM, timeout=10)
            exporter_cpu = cpu_seconds(exporter.pid)
            log(f"fake exporter CPU so far: {exporter_cpu:.1f}s")
            shutil.rmtree(running.data, ignore_errors=True)
            time.sleep(5)
    finally:
        exporter.terminate()
        try:
            exporter.wait(10)
        except subprocess.TimeoutExpired:
            exporter.kill()
            exporter.wait()

    print(f"\n{time.strftime('%Y-%m-%d')}: {args.targets} targets x 505 series, "
          f"{args.interval}s interval, {args.ingest}s ingestion per system "
          f"(CPU window {args.ingest - args.warmup}s), {args.query_runs} query runs; "
          f"{os.cpu_count()} CPUs\n")
    print(table(results))
    for r in results:
        problems = r.pop("log_problems")
        r["log_problem_count"] = len(problems)
        r["log_problem_sample"] = problems[:10]
        if problems:
            print(f"\n{r['system']}: {len(problems)} warn/error log lines, first ones:")
            for p in problems[:5]:
                print("    " + p[:300])
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)
    if not args.workdir:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
