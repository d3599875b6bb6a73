#!/usr/bin/python3
"""The comparing benchmark (issue 13): one detection with fluxstate against
the same questions asked with kubectl (4 calls), python-kubernetes and a bare
libcurl program sending fluxstate's own requests (the floor).

Servers: the simulator (kubesim) for the answers, and in front of it a fast
HTTP/2 replay (benchsrv replay: every answer served from memory after the
first round) behind a TCP delay proxy (benchsrv delay: 0, 5, 25 ms per
direction). A real kube-apiserver is added with --real-kubeconfig (the
cluster is read as it is: sizes and scenarios do not apply).

Commands run interleaved, round by round (the order rotates each round);
per command: wall time, CPU (user+sys of the process tree) and peak RSS;
the table gives medians and the median of the per-round ratios to
fluxstate. Round trips are the slope of wall time over the added RTT.

  compare.py --fluxstate BIN --curl-floor BIN [--short] [--rounds N]
             [--sizes 0,20000,100000] [--scenarios healthy,must-read-all]
             [--delays 0,5,25] [--kubectl BIN] [--python PY] [--out FILE]

--short (CI): small cluster, both scenarios, delays 0 and 5, 3 rounds, and
every client must answer; it fails when a tool is missing or a command
fails, never on a time. --python names an interpreter that has the
`kubernetes` package (a venv with the pinned PyPI release).
"""
import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
KUBESIM = os.path.join(ROOT, "tests", "kubesim", "kubesim.py")
GEN = os.path.join(HERE, "gen-scale.py")
KUSTOMIZATIONS = "kustomizations.kustomize.toolkit.fluxcd.io"
TIME = "/usr/bin/time"  # GNU time (Debian package "time")

# The four questions, as kubectl and python-kubernetes ask them.
PY_CLIENT = r'''
import sys
from kubernetes import client, config
config.load_kube_config(sys.argv[1])
read_all = sys.argv[2] == "1"
api = client.ApiClient()
ext = client.ApiextensionsV1Api(api)
core = client.CoreV1Api(api)
apps = client.AppsV1Api(api)
co = client.CustomObjectsApi(api)
ext.list_custom_resource_definition()
core.list_namespace()
apps.list_deployment_for_all_namespaces(label_selector="app.kubernetes.io/part-of=flux")
if read_all:
    co.list_cluster_custom_object("kustomize.toolkit.fluxcd.io", "v1", "kustomizations")
else:
    co.list_namespaced_custom_object("kustomize.toolkit.fluxcd.io", "v1", "flux-system", "kustomizations",
                                     field_selector="metadata.name=flux-system")
'''


def die(msg):
    sys.exit("compare: " + msg)


def start(cmd, what):
    """Start a server that prints `listening on ADDR`; (proc, ADDR)."""
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = p.stdout.readline()
    if not line.startswith("listening on "):
        p.kill()
        die("%s did not start: %s %s" % (what, line, p.stderr.read()[-2000:]))
    return p, line.split()[-1]


def stop(p):
    if p and p.poll() is None:
        p.terminate()
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def run_measured(cmds, env=None):
    """Run commands one after the other: (wall s, cpu s, peak RSS KiB, ok).
    GNU time reports each: a child forked from Python would count Python's
    pages in its peak RSS."""
    t0 = time.monotonic()
    cpu, rss, ok = 0.0, 0, True
    with tempfile.NamedTemporaryFile("r") as tf:
        for c in cmds:
            p = subprocess.run([TIME, "-q", "-f", "%U %S %M", "-o", tf.name] + c, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, env=env)
            tf.seek(0)
            u, s, m = tf.read().split()[-3:]
            cpu += float(u) + float(s)
            rss = max(rss, int(m))
            # a plain `fluxstate check` exits 0 for every known state (docs/cli.md)
            if p.returncode != 0:
                ok = False
                sys.stderr.write("compare: %s exited %d: %s\n" % (" ".join(c[:3]), p.returncode,
                                                                    p.stderr.decode(errors="replace")[-500:]))
    return time.monotonic() - t0, cpu, rss, ok


def kubeconfig(path, server, ca_file, token):
    with open(path, "w") as f:
        yaml.safe_dump({"apiVersion": "v1", "kind": "Config",
                        "clusters": [{"name": "b", "cluster": {"server": server,
                                                                "certificate-authority": ca_file}}],
                        "users": [{"name": "b", "user": {"token": token}}],
                        "contexts": [{"name": "b", "context": {"cluster": "b", "user": "b"}}],
                        "current-context": "b"}, f)
    os.chmod(path, 0o600)


def floor_requests(log_path, out):
    """fluxstate's requests from the simulator's log, grouped: round 1
    (cluster-wide, and the speculative reads of the likely namespace),
    round 2 (what depends on its answers), each list's pages in order."""
    entries = [json.loads(line) for line in open(log_path)]
    # observe.c's round 1: cluster-wide reads, and round 2's reads of flux-system sent
    # speculatively; everything else depends on them
    round1 = {"/version", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", "/api/v1/namespaces",
              "/apis/apps/v1/deployments", "/apis/rbac.authorization.k8s.io/v1/clusterroles",
              "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings", "/api/v1/serviceaccounts",
              "/api/v1/services", "/apis/networking.k8s.io/v1/networkpolicies", "/api/v1/resourcequotas",
              "/apis/apps/v1/namespaces/flux-system/deployments", "/api/v1/namespaces/flux-system/secrets",
              "/api/v1/namespaces/flux-system/configmaps",
              "/apis/kustomize.toolkit.fluxcd.io/v1/namespaces/flux-system/kustomizations"}
    pages = {}
    lines = []
    for e in entries:
        rnd = 1 if e["path"] in round1 else 2
        key = (e["path"], tuple(sorted((k, v) for k, v in e.get("params", {}).items() if k != "continue")))
        page = pages.get(key, 0)
        pages[key] = page + 1
        uri = e["path"] + ("?" + e["query"] if e.get("query") else "")
        lines.append((rnd * 100000 + page, e["headers"].get("accept", "*/*"), uri))
    lines.sort(key=lambda x: x[0])
    with open(out, "w") as f:
        for g, acc, uri in lines:
            f.write("%d\t%s\t%s\n" % (g, acc, uri))
    return len(lines)


def slope(xs, ys):
    mx, my = statistics.mean(xs), statistics.mean(ys)
    den = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / den if den else float("nan")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--fluxstate", required=True)
    ap.add_argument("--curl-floor", required=True)
    ap.add_argument("--kubectl", default="/usr/lib/google-cloud-sdk/bin/kubectl.1.33")
    ap.add_argument("--python", default=None, help="interpreter with the kubernetes package")
    ap.add_argument("--benchsrv", default=None, help="built benchsrv (default: go build it)")
    ap.add_argument("--short", action="store_true")
    ap.add_argument("--rounds", type=int, default=11)
    ap.add_argument("--sizes", default="0,20000,100000")
    ap.add_argument("--scenarios", default="healthy,must-read-all")
    ap.add_argument("--delays", default="0,5,25")
    ap.add_argument("--tools", default="fluxstate,curl-floor,kubectl x4,python-kubernetes",
                    help="which clients to run (fluxstate always runs)")
    ap.add_argument("--real-kubeconfig", default=None)
    ap.add_argument("--out", default=None, help="also write the markdown table here")
    a = ap.parse_args()
    if a.short:
        a.rounds, a.sizes, a.delays = 3, "0", "0,5"
    if not os.access(TIME, os.X_OK):
        die("%s (GNU time) not found: it measures CPU and peak RSS" % TIME)
    tools = {"fluxstate": a.fluxstate, "curl-floor": a.curl_floor, "kubectl": a.kubectl,
             "python": a.python or ""}
    for name, path in tools.items():
        if not path or not (shutil.which(path) or os.access(path, os.X_OK)):
            die("%s not found (%r): every client is required" % (name, path))
    if subprocess.run([a.python, "-c", "import kubernetes"], capture_output=True).returncode != 0:
        die("%s has no kubernetes package" % a.python)
    tmp = tempfile.mkdtemp(prefix="fluxstate-bench-")
    procs = []
    rows = []
    load_start = os.getloadavg()
    try:
        benchsrv = a.benchsrv
        if not benchsrv:
            benchsrv = os.path.join(tmp, "benchsrv")
            subprocess.run(["go", "build", "-o", benchsrv, os.path.join(HERE, "benchsrv.go")], check=True,
                           cwd=tmp)
        for size in [int(s) for s in a.sizes.split(",") if s]:
            for scen in a.scenarios.split(","):
                rows += bench_sim(a, tools, benchsrv, tmp, size, scen, procs)
        if a.real_kubeconfig:
            rows += bench_real(a, tools, benchsrv, tmp, procs)
    finally:
        for p in procs:
            stop(p)
        shutil.rmtree(tmp, ignore_errors=True)
    load_end = os.getloadavg()
    text = report(a, rows, load_start, load_end)
    print(text)
    if a.out:
        with open(a.out, "w") as f:
            f.write(text)
    return 1 if any(not r["ok"] for r in rows) else 0


def commands(tools, kc, read_all, floor_args):
    kubectl = [tools["kubectl"], "--kubeconfig", kc]
    last = ["get", KUSTOMIZATIONS, "-A"] if read_all else \
        ["get", KUSTOMIZATIONS, "-n", "flux-system", "--field-selector", "metadata.name=flux-system"]
    return {
        "fluxstate": [[tools["fluxstate"], "--kubeconfig", kc, "-o", "json"]],
        "curl-floor": [[tools["curl-floor"]] + floor_args],
        "kubectl x4": [kubectl + ["get", "crd"], kubectl + ["get", "ns"],
                       kubectl + ["get", "deploy", "-A", "-l", "app.kubernetes.io/part-of=flux"],
                       kubectl + last],
        "python-kubernetes": [[tools["python"], "-c", PY_CLIENT, kc, "1" if read_all else "0"]],
    }


def interleave(a, cmds, label, extra):
    """Rounds over every command, rotating the order; one row per command."""
    names = [n for n in cmds if n == "fluxstate" or n in a.tools.split(",")]
    samples = {n: [] for n in names}
    for r in range(a.rounds + 1):  # round 0 warms the replay cache and is dropped
        order = names[r % len(names):] + names[:r % len(names)]
        for n in order:
            s = run_measured(cmds[n])
            if r:
                samples[n].append(s)
    rows = []
    base = samples["fluxstate"]
    for n in names:
        s = samples[n]
        rows.append(dict(extra, label=label, tool=n, ok=all(x[3] for x in s),
                         wall=statistics.median(x[0] for x in s), cpu=statistics.median(x[1] for x in s),
                         rss=max(x[2] for x in s),
                         ratio=statistics.median(x[0] / b[0] for x, b in zip(s, base))))
    return rows


def bench_sim(a, tools, benchsrv, tmp, size, scen, procs):
    d = os.path.join(tmp, "%s-%d" % (scen, size))
    subprocess.run([sys.executable, GEN, "--objects", str(size), "--out", d] +
                   (["--must-read-all"] if scen == "must-read-all" else []), check=True,
                   stdout=subprocess.DEVNULL)
    sim_kc, log = os.path.join(d, "sim.kubeconfig"), os.path.join(d, "requests.jsonl")
    sim, url = start([sys.executable, KUBESIM, "--scenario", d, "--kubeconfig-out", sim_kc, "--log", log,
                      "--cert-dir", os.path.join(d, "certs")], "kubesim")
    procs.append(sim)
    cfg = yaml.safe_load(open(sim_kc))
    token = cfg["users"][0]["user"]["token"]
    sim_ca = os.path.join(d, "sim-ca.crt")
    import base64
    with open(sim_ca, "wb") as f:
        f.write(base64.b64decode(cfg["clusters"][0]["cluster"]["certificate-authority-data"]))
    # fluxstate's requests, once, for the floor
    before = sum(1 for _ in open(log)) if os.path.exists(log) else 0
    subprocess.run([tools["fluxstate"], "--kubeconfig", sim_kc, "-o", "json"], stdout=subprocess.DEVNULL)
    with open(log) as f, open(log + ".probe", "w") as g:
        g.writelines(f.readlines()[before:])
    reqs = os.path.join(d, "floor.tsv")
    n_req = floor_requests(log + ".probe", reqs)
    replay, rurl = start([benchsrv, "replay", "-upstream", url, "-upstream-ca", sim_ca, "-dir", d], "replay")
    procs.append(replay)
    rows = []
    for delay in [int(x) for x in a.delays.split(",")]:
        proxy, addr = start([benchsrv, "delay", "-target", urllib.parse.urlparse(rurl).netloc,
                             "-delay", "%dms" % delay], "delay proxy")
        procs.append(proxy)
        kc = os.path.join(d, "kc-%d" % delay)
        server = "https://" + addr
        kubeconfig(kc, server, os.path.join(d, "ca.crt"), token)
        cmds = commands(tools, kc, scen == "must-read-all",
                        ["--server", server, "--cacert", os.path.join(d, "ca.crt"), "--token", token, reqs])
        rows += interleave(a, cmds, "%s, %s" % ("small" if size == 0 else "%dk" % (size // 1000), scen),
                           {"delay": delay, "requests": n_req})
        stop(proxy)
    return rows


def bench_real(a, tools, benchsrv, tmp, procs):
    """The real kube-apiserver as it is, through the delay proxy."""
    cfg = yaml.safe_load(open(a.real_kubeconfig))
    ctx = next(c for c in cfg["contexts"] if c["name"] == cfg["current-context"])["context"]
    cluster = next(c for c in cfg["clusters"] if c["name"] == ctx["cluster"])["cluster"]
    target = urllib.parse.urlparse(cluster["server"]).netloc
    rows = []
    for delay in [int(x) for x in a.delays.split(",")]:
        proxy, addr = start([benchsrv, "delay", "-target", target, "-delay", "%dms" % delay], "delay proxy")
        procs.append(proxy)
        cluster["server"] = "https://" + addr
        kc = os.path.join(tmp, "real-%d.kubeconfig" % delay)
        with open(kc, "w") as f:
            yaml.safe_dump(cfg, f)
        os.chmod(kc, 0o600)
        cmds = commands(tools, kc, False, [])
        cmds.pop("curl-floor")  # it replays fluxstate's requests recorded by the simulator
        rows += interleave(a, cmds, "kube-apiserver (real)", {"delay": delay, "requests": 0})
        stop(proxy)
    return rows


def report(a, rows, load_start, load_end):
    out = []
    out.append("Machine: %s, %d CPUs, %s; date %s UTC; load average %.2f/%.2f/%.2f at start, "
               "%.2f/%.2f/%.2f at end; %d rounds (+1 warm-up), medians."
               % (platform.processor() or platform.machine(), os.cpu_count(), platform.platform(),
                  time.strftime("%Y-%m-%d %H:%M", time.gmtime()), *load_start, *load_end, a.rounds))
    out.append("")
    out.append("| cluster | added delay per direction | client | wall ms | ratio to fluxstate | CPU ms | peak RSS MiB |")
    out.append("|---|---|---|---|---|---|---|")
    for r in rows:
        out.append("| %s | %d ms | %s | %.1f | %.2f | %.1f | %.1f |%s" % (
            r["label"], r["delay"], r["tool"], r["wall"] * 1000, r["ratio"], r["cpu"] * 1000, r["rss"] / 1024,
            "" if r["ok"] else " FAILED"))
    delays = sorted({r["delay"] for r in rows})
    if len(delays) > 1:
        out.append("")
        out.append("Round trips (slope of wall time over the added RTT = 2 x delay):")
        out.append("")
        out.append("| cluster | client | round trips |")
        out.append("|---|---|---|")
        for label in dict.fromkeys(r["label"] for r in rows):
            for tool in dict.fromkeys(r["tool"] for r in rows if r["label"] == label):
                pts = [(2 * r["delay"] / 1000, r["wall"]) for r in rows if r["label"] == label and r["tool"] == tool]
                if len(pts) > 1:
                    out.append("| %s | %s | %.1f |" % (label, tool, slope([p[0] for p in pts], [p[1] for p in pts])))
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    sys.exit(main())
