#!/usr/bin/python3
"""Library docs that must say what the code does (#11 item 14): checked
against the sources they describe, so a drift fails here.

- fluxstate_report_get_flux_minimum()'s example is written as it returns
  it (no leading "v", like the report JSON's kubernetes.fluxMinimum and
  flux-releases.tsv's kubernetes-minimum column);
- FLUXSTATE_EAUTH's doc does not promise a 403 (a 403 on a read is a blind
  spot: observe.c turns it into an access finding);
- every kubeconfig count in CHANGELOG.md and docs/kubeconfig-parity.md is
  the number of kubeconfig cases in tests/parity/test_parity.py;
- fluxstate.pc's URL is the project's (the schema's $id), not fluxcd.io.
"""
import json
import os
import re
import sys

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
n = 0
failed = 0


def check(ok, what, detail=""):
    global n, failed
    n += 1
    failed += not ok
    detail = " ".join(detail.split())  # one TAP line
    print("%s %d - %s%s" % ("ok" if ok else "not ok", n, what, (": " + detail) if detail else ""))


def read(*path):
    with open(os.path.join(ROOT, *path), encoding="utf-8") as f:
        return f.read()


header = read("include", "fluxstate", "fluxstate.h")
doc = header[:header.index("fluxstate_report_get_flux_minimum(")]
doc = doc[doc.rindex("/**"):]
examples = re.findall(r'"v?\d+\.\d+\.\d+"', doc)
check(examples and all(not e.startswith('"v') for e in examples),
      "fluxstate_report_get_flux_minimum's example has no leading v", " ".join(examples))
tsv = [l.split("\t") for l in read("libfluxstate", "flux-releases.tsv").splitlines()
       if l and not l.startswith("#") and not l.startswith("flux\t")]
check(all(re.match(r"^\d+\.\d+\.\d+$", row[-1]) for row in tsv), "the table's minimums have no leading v")

eauth = re.search(r"FLUXSTATE_EAUTH = -6,(.*?)\*/", header, re.S).group(1)
check("403" not in eauth.split(";")[0] and "401/403" not in eauth,
      "FLUXSTATE_EAUTH does not claim a 403", eauth.strip())

parity = read("tests", "parity", "test_parity.py")
block = parity[parity.index("\nCASES = {"):]
block = block[:block.index("\n}\n")]
cases = len(re.findall(r'^    "[^"]+":', block, re.M))
for name in ("CHANGELOG.md", os.path.join("docs", "kubeconfig-parity.md")):
    counts = [int(x) for x in re.findall(r"\b(\d+) kubeconfigs\b", read(name))]
    check(counts and all(c == cases for c in counts), "%s counts %d kubeconfigs" % (name, cases), str(counts))

pc = read("pkgconfig", "meson.build")
url = re.search(r"url: '([^']+)'", pc).group(1)
schema_id = json.loads(read("docs", "report.schema.json"))["$id"]
check("fluxcd.io" not in url and schema_id.startswith(url), "fluxstate.pc's URL is the project's", url)

print("1..%d" % n)
sys.exit(1 if failed else 0)
