# SPDX-License-Identifier: MIT
"""fluxstate.plan_cleanup / apply_cleanup (issue #14) against the simulator:
the plan's shape and order, refusals, a concurrent change between plan and
apply detected (ConflictError) and not overwritten, a clean run to none."""

from __future__ import annotations

import json
import os
import ssl
import unittest
import urllib.request
from typing import Any, Dict, List

import fluxstate
from simulator import Simulator, scenarios_dir

PHASES = ["controllers", "finalizers", "custom-resources", "crds", "cluster-rbac", "namespaced", "namespace"]


def state(sim: Simulator) -> List[Dict[str, Any]]:
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with urllib.request.urlopen(sim.url + "/_kubesim/state", context=ctx, timeout=10) as r:
        items: List[Dict[str, Any]] = json.loads(r.read())["items"]
    return items


def find(sim: Simulator, kind: str, name: str) -> Dict[str, Any]:
    for o in state(sim):
        if o["kind"] == kind and o["metadata"]["name"] == name:
            return o
    raise AssertionError(f"{kind} {name} not in the simulator")


class Plan(unittest.TestCase):
    def test_plan_order_fields_and_json(self) -> None:
        with Simulator(os.path.join(scenarios_dir(), "crd-terminating")) as sim:
            with fluxstate.Context(sim.kubeconfig) as ctx:
                plan = fluxstate.plan_cleanup(ctx, ctx.probe())
        self.assertEqual(plan.state, fluxstate.State.RESIDUAL)
        self.assertTrue(plan.steps)
        order = [PHASES.index(s.phase) for s in plan.steps]
        self.assertEqual(order, sorted(order))
        hr = [s for s in plan.steps if s.kind == "HelmRelease"]
        self.assertEqual([s.verb for s in hr], ["remove-finalizers", "delete"])
        self.assertEqual(hr[0].namespace, "apps")
        self.assertFalse(hr[0].destructive)
        self.assertTrue(hr[1].destructive)
        d = plan.to_dict()
        self.assertEqual(len(d["steps"]), len(plan.steps))
        self.assertEqual(d["steps"][0]["name"], plan.steps[0].name)

    def test_healthy_is_refused(self) -> None:
        with Simulator(os.path.join(scenarios_dir(), "healthy-v2.7.5-bootstrap")) as sim:
            with fluxstate.Context(sim.kubeconfig) as ctx:
                with self.assertRaises(fluxstate.RefusedError) as cm:
                    fluxstate.plan_cleanup(ctx, ctx.probe(), force=True)
        self.assertIn("healthy", str(cm.exception))

    def test_keep_namespace(self) -> None:
        with Simulator(os.path.join(scenarios_dir(), "rbac-only")) as sim:
            with fluxstate.Context(sim.kubeconfig) as ctx:
                report = ctx.probe()
                plan = fluxstate.plan_cleanup(ctx, report, keep_namespace=True)
        self.assertFalse([s for s in plan.steps if s.kind == "Namespace"])


class Apply(unittest.TestCase):
    def test_concurrent_change_is_detected_not_overwritten(self) -> None:
        with Simulator(os.path.join(scenarios_dir(), "namespace-terminating-finalizers")) as sim:
            with fluxstate.Context(sim.kubeconfig) as ctx:
                plan = fluxstate.plan_cleanup(ctx, ctx.probe())
                # someone adds a finalizer between plan and apply
                ks = find(sim, "Kustomization", "flux-system")
                ks["metadata"]["finalizers"] = ks["metadata"]["finalizers"] + ["example.com/audit"]
                sim.control("apply", json.dumps(ks))
                seen: List[fluxstate.StepResult] = []
                with self.assertRaises(fluxstate.ConflictError) as cm:
                    fluxstate.apply_cleanup(ctx, plan, progress=seen.append)
            after = find(sim, "Kustomization", "flux-system")
        self.assertIn("Kustomization", str(cm.exception))
        self.assertIn("dry run", str(cm.exception))
        self.assertEqual(after["metadata"]["finalizers"], ["finalizers.fluxcd.io", "example.com/audit"])
        conflicts = [r for r in seen if r.result == fluxstate.cleanup.ECONFLICT]
        self.assertEqual([(r.step.kind, r.step.name) for r in conflicts], [("Kustomization", "flux-system")])
        self.assertTrue(all(r.dry_run for r in seen), "a real write happened after a failed dry run")

    def test_recreated_object_is_a_conflict(self) -> None:
        with Simulator(os.path.join(scenarios_dir(), "rbac-only")) as sim:
            with fluxstate.Context(sim.kubeconfig) as ctx:
                plan = fluxstate.plan_cleanup(ctx, ctx.probe())
                step = next(s for s in plan.steps if s.kind == "ClusterRole")
                obj = find(sim, "ClusterRole", step.name)
                sim.control("delete", json.dumps({"apiVersion": obj["apiVersion"], "kind": "ClusterRole",
                                                  "metadata": {"name": step.name}}))
                del obj["metadata"]["uid"]
                sim.control("apply", json.dumps(obj))
                with self.assertRaises(fluxstate.ConflictError) as cm:
                    fluxstate.apply_cleanup(ctx, plan)
        self.assertIn("UID in precondition", str(cm.exception))

    def test_clean_to_none(self) -> None:
        with Simulator(os.path.join(scenarios_dir(), "namespace-terminating-finalizers")) as sim:
            with fluxstate.Context(sim.kubeconfig) as ctx:
                plan = fluxstate.plan_cleanup(ctx, ctx.probe())
                seen: List[fluxstate.StepResult] = []
                dry = fluxstate.apply_cleanup(ctx, plan, dry_run=True, progress=seen.append)
                self.assertEqual(dry, fluxstate.State.RESIDUAL)
                self.assertEqual(len(seen), len(plan.steps))
                self.assertEqual(ctx.probe().state, fluxstate.State.RESIDUAL)
                final = fluxstate.apply_cleanup(ctx, plan, wait=True, progress=seen.append)
                self.assertEqual(final, fluxstate.State.NONE)
                self.assertEqual(len(seen), 3 * len(plan.steps))
                self.assertTrue(all(r.ok for r in seen))
                self.assertEqual(ctx.probe().state, fluxstate.State.NONE)


if __name__ == "__main__":
    unittest.main()
