# SPDX-License-Identifier: MIT
"""The binding itself: prototypes, version, enums, error mapping.  No
cluster needed."""

import ctypes
import os
import re
import subprocess
import sys
import unittest
from unittest import mock

import fluxstate
from fluxstate import _lib

HERE = os.path.dirname(os.path.abspath(__file__))


def _sym_file():
    root = os.environ.get("FLUXSTATE_SOURCE_ROOT") or os.path.join(HERE, "..", "..", "..")
    return os.path.join(root, "libfluxstate", "libfluxstate.sym")


class TestPrototypes(unittest.TestCase):
    def test_every_exported_symbol_has_a_prototype(self):
        path = _sym_file()
        if not os.path.exists(path):
            self.skipTest(f"{path} not found (not a source tree)")
        with open(path, encoding="utf-8") as f:
            syms = set(re.findall(r"^\s*(fluxstate_\w+);", f.read(), re.M))
        self.assertGreaterEqual(len(syms), 46)
        self.assertEqual(syms - set(_lib.PROTOTYPES), set(), "exported but not declared")
        self.assertEqual(set(_lib.PROTOTYPES) - syms, set(), "declared but not exported")

    def test_prototypes_are_applied(self):
        for name, (args, res, check) in _lib.PROTOTYPES.items():
            fn = getattr(_lib.lib, name)
            self.assertEqual(fn.argtypes, args, name)
            self.assertIs(fn.restype, res, name)
            if check is not None:
                self.assertIs(fn.errcheck, check, name)

    def test_int_returning_calls_that_can_fail_have_errcheck(self):
        # Everything returning a negative FLUXSTATE_E* must raise, except the
        # tri-state getter whose -1 means "cannot tell".
        exempt = {"fluxstate_report_get_state", "fluxstate_report_get_server_supported",
                  "fluxstate_finding_get_severity",
                  "fluxstate_report_check_install"}  # 1/0/error with a reason: checked by hand
        for name, (_, res, check) in _lib.PROTOTYPES.items():
            if res is ctypes.c_int and name not in exempt:
                self.assertIsNotNone(check, name)


def _import_in_child(env_changes):
    """`import fluxstate` in a fresh interpreter; returns (rc, stdout, stderr)."""
    env = dict(os.environ)
    for k, v in env_changes.items():
        if v is None:
            env.pop(k, None)
        else:
            env[k] = v
    code = ("import fluxstate, sys\n"
            "maps = [l.split()[-1] for l in open('/proc/self/maps') if 'libfluxstate' in l]\n"
            "print(fluxstate.library_version, sorted(set(maps))[0])\n")
    p = subprocess.run([sys.executable, "-c", code], env=env, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=60)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


class TestLoading(unittest.TestCase):
    def test_soname_through_the_dynamic_linker(self):
        root = os.environ.get("FLUXSTATE_BUILD_ROOT")
        if not root:
            self.skipTest("FLUXSTATE_BUILD_ROOT not set (not run by meson)")
        libdir = os.path.join(root, "libfluxstate")
        rc, out, err = _import_in_child({_lib.ENV_LIBRARY: None, "LD_LIBRARY_PATH": libdir})
        self.assertEqual(rc, 0, err)
        version, path = out.split()
        self.assertEqual(version, fluxstate.library_version)
        self.assertEqual(os.path.dirname(os.path.realpath(path)), os.path.realpath(libdir))

    def test_env_override_naming_a_missing_file(self):
        rc, out, err = _import_in_child({_lib.ENV_LIBRARY: "/nonexistent/libfluxstate.so.0"})
        self.assertNotEqual(rc, 0)
        self.assertIn("ImportError: FLUXSTATE_LIBRARY=/nonexistent/libfluxstate.so.0: no such file", err)

    def test_env_override_naming_another_library(self):
        libc = "/lib/x86_64-linux-gnu/libc.so.6"
        if not os.path.exists(libc):
            self.skipTest("no %s on this machine" % libc)
        rc, out, err = _import_in_child({_lib.ENV_LIBRARY: libc})
        self.assertNotEqual(rc, 0)
        self.assertRegex(err, r"ImportError: .*libc\.so\.6 does not export fluxstate_\w+")


class _FakeLib:
    def __init__(self, version, text):
        self.fluxstate_version = lambda: version
        self.fluxstate_version_string = lambda: text


class TestVersionCheck(unittest.TestCase):
    def test_other_major_or_older_library_is_refused(self):
        for v, text in (((1 << 16), b"1.0.0"), (0, b"0.0.0")):
            with self.subTest(version=text):
                with mock.patch.object(_lib, "lib", _FakeLib(v, text)):
                    with self.assertRaises(ImportError) as cm:
                        fluxstate._check_version()
                self.assertIn(text.decode(), str(cm.exception))

    def test_newer_minor_is_accepted(self):
        with mock.patch.object(_lib, "lib", _FakeLib((0 << 16) | (7 << 8) | 3, b"0.7.3")):
            self.assertEqual(fluxstate._check_version(), "0.7.3")


class TestVersion(unittest.TestCase):
    def test_library_version_matches_package(self):
        v = _lib.lib.fluxstate_version()
        s = fluxstate.library_version
        self.assertEqual(s, "%d.%d.%d" % (v >> 16, (v >> 8) & 0xFF, v & 0xFF))
        self.assertEqual(v >> 16, 0)
        self.assertEqual(s, fluxstate.__version__)


class TestEnums(unittest.TestCase):
    def test_state_labels_come_from_the_library(self):
        for st, label in ((fluxstate.State.UNKNOWN, "unknown"), (fluxstate.State.NONE, "none"),
                          (fluxstate.State.RESIDUAL, "residual"), (fluxstate.State.PARTIAL, "partial"),
                          (fluxstate.State.HEALTHY, "healthy")):
            self.assertEqual(st.label, label)
            self.assertEqual(str(st), label)
            self.assertIs(fluxstate.State.from_string(label.upper()), st)

    def test_bad_state_name_is_value_error(self):
        with self.assertRaises(ValueError) as cm:
            fluxstate.State.from_string("installed")
        self.assertIsInstance(cm.exception, fluxstate.FluxstateError)
        self.assertEqual(cm.exception.code, _lib.EINVAL)
        with self.assertRaises(ValueError):
            fluxstate.State.from_string("no\0ne")

    def test_flag_labels_match_report_json_names(self):
        f = fluxstate.FindingFlag.BLOCKS_REINSTALL | fluxstate.FindingFlag.NOT_VISIBLE
        self.assertEqual(f.labels, ["blocks-reinstall", "not-visible"])
        self.assertEqual(fluxstate.FindingFlag(0).labels, [])


class TestErrors(unittest.TestCase):
    def test_hierarchy(self):
        E = fluxstate
        for cls in (E.ConfigError, E.NetworkError, E.AuthError, E.ProtocolError,
                    E.FluxstateTimeoutError, E.InvalidArgumentError, E.FluxstateMemoryError):
            self.assertTrue(issubclass(cls, E.FluxstateError), cls)
        self.assertTrue(issubclass(E.InvalidArgumentError, ValueError))
        self.assertTrue(issubclass(E.FluxstateMemoryError, MemoryError))
        self.assertTrue(issubclass(E.FluxstateTimeoutError, TimeoutError))

    def test_each_code_maps_to_its_class(self):
        E = fluxstate
        want = {_lib.ENOMEM: E.FluxstateMemoryError, _lib.EINVAL: E.InvalidArgumentError,
                _lib.ECONFIG: E.ConfigError, _lib.ENETWORK: E.NetworkError,
                _lib.EAUTH: E.AuthError, _lib.EPROTOCOL: E.ProtocolError,
                _lib.ETIMEDOUT: E.FluxstateTimeoutError, _lib.ERROR: E.FluxstateError}
        for code, cls in want.items():
            err = E._error(_lib.CError(code, "msg %d" % code))
            self.assertIs(type(err), cls)
            self.assertEqual(err.code, code)
            self.assertEqual(str(err), "msg %d" % code)

    def test_strerror_never_null(self):
        for code in range(-9, 1):
            self.assertTrue(_lib.strerror(code))
        self.assertEqual(_lib.strerror(12345), "unknown error")


class TestContextWithoutCluster(unittest.TestCase):
    def test_invalid_namespace_is_rejected_by_the_library(self):
        with self.assertRaises(fluxstate.InvalidArgumentError) as cm:
            fluxstate.Context("/nonexistent", flux_namespace="Not_A_Label")
        self.assertIn("Not_A_Label", str(cm.exception))
        self.assertIsInstance(cm.exception, ValueError)

    def test_bad_timeouts(self):
        for t in (0, -1, 0.0):
            with self.assertRaises(ValueError):
                fluxstate.Context("/nonexistent", timeout=t)
        with self.assertRaises(TypeError):
            fluxstate.Context("/nonexistent", timeout="5")
        with self.assertRaises(TypeError):
            fluxstate.Context("/nonexistent", server=b"https://x")

    def test_nul_in_string_is_value_error(self):
        with self.assertRaises(ValueError):
            fluxstate.Context("/nonexistent\0/x")

    def test_missing_kubeconfig_is_config_error_naming_the_file(self):
        path = "/nonexistent/fluxstate-test/kubeconfig"
        with self.assertRaises(fluxstate.ConfigError) as cm:
            fluxstate.Context(path)
        self.assertEqual(cm.exception.code, _lib.ECONFIG)
        self.assertIn(path, str(cm.exception))


if __name__ == "__main__":
    unittest.main()
