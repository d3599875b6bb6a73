# SPDX-License-Identifier: MIT
"""pytest glue: the tests import their helper (simulator.py) from here, and
a run where every test skipped exits 77 so meson shows SKIP, not a pass."""

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if exitstatus != 0 or reporter is None:
        return
    passed = len(reporter.stats.get("passed", []))
    if passed == 0 and reporter.stats.get("skipped"):
        session.exitstatus = 77


def pytest_report_header(config: pytest.Config) -> str:
    import fluxstate
    return (f"fluxstate from {os.path.dirname(fluxstate.__file__)}, "
            f"libfluxstate {fluxstate.library_version}")
