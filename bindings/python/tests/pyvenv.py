# SPDX-License-Identifier: MIT
"""The venv the Python binding's tests, type check and wheel build use:
BUILD_DIR/py-venv, made once with the pins of ../requirements-dev.txt
(from PyPI) and re-made when that file changes.  It sees the system's
site-packages (Debian's python3-yaml, which the simulator needs).

  pyvenv.py BUILD_DIR --print          make it if needed, print its python
  pyvenv.py BUILD_DIR -- ARGS...       make it if needed, run `python -m ARGS`
"""

import fcntl
import hashlib
import os
import subprocess
import sys
import venv

HERE = os.path.dirname(os.path.abspath(__file__))
REQUIREMENTS = os.path.join(os.path.dirname(HERE), "requirements-dev.txt")


def ensure(build: str) -> str:
    root = os.path.join(os.path.abspath(build), "py-venv")
    py = os.path.join(root, "bin", "python")
    with open(REQUIREMENTS, "rb") as f:
        want = hashlib.sha256(f.read()).hexdigest()
    stamp = os.path.join(root, ".requirements.sha256")
    os.makedirs(os.path.dirname(root), exist_ok=True)
    # Several meson tests may start at once: one makes it, the others wait.
    with open(root + ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            with open(stamp) as f:
                if f.read().strip() == want and os.path.exists(py):
                    return py
        except FileNotFoundError:
            pass
        venv.EnvBuilder(system_site_packages=True, clear=True, with_pip=True).create(root)
        env = {k: v for k, v in os.environ.items() if k != "LD_PRELOAD"}
        subprocess.run([py, "-m", "pip", "install", "-q", "--disable-pip-version-check",
                        "--no-deps", "--ignore-installed", "-r", REQUIREMENTS],
                       check=True, env=env, stdout=sys.stderr)
        with open(stamp, "w") as f:
            f.write(want + "\n")
    return py


def main(argv: list) -> int:
    if len(argv) >= 3 and argv[2] == "--print":
        print(ensure(argv[1]))
        return 0
    if len(argv) >= 4 and argv[2] == "--":
        py = ensure(argv[1])
        os.execv(py, [py, "-m"] + argv[3:])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
