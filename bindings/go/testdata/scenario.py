# SPDX-License-Identifier: MIT
"""YAML chores for the Go tests (Go's standard library has no YAML).

  scenario.py expect DIR            -> {"expect": ...} as JSON
  scenario.py tojson FILE           -> the YAML file as JSON
  scenario.py with-config SRC DEST JSON
                                    -> copy scenario SRC to DEST, merging JSON
                                       into its config (lists are appended)
"""
import json
import os
import shutil
import sys

import yaml


def load(path):
    with open(path, encoding="utf-8") as f:
        return yaml.safe_load(f)


def main(argv):
    cmd = argv[1]
    if cmd == "expect":
        doc = load(os.path.join(argv[2], "scenario.yaml")) or {}
        json.dump({"expect": doc.get("expect")}, sys.stdout)
    elif cmd == "tojson":
        json.dump(load(argv[2]), sys.stdout)
    elif cmd == "with-config":
        src, dest, extra = argv[2], argv[3], json.loads(argv[4])
        shutil.copytree(src, dest)
        doc = load(os.path.join(dest, "scenario.yaml"))
        cfg = doc.get("config") or {}
        if isinstance(cfg, str):
            cfg = load(os.path.join(dest, cfg)) or {}
        for k, v in extra.items():
            cfg[k] = (list(cfg.get(k) or []) + v) if isinstance(v, list) else v
        doc["config"] = cfg
        with open(os.path.join(dest, "scenario.yaml"), "w", encoding="utf-8") as f:
            yaml.safe_dump(doc, f)
    else:
        sys.exit("unknown command " + cmd)


if __name__ == "__main__":
    main(sys.argv)
