#!/usr/bin/env python3
"""Check an svkit Kubernetes manifest without a cluster.

Usage: check-manifest.py FILE.yaml

Parses every document (PyYAML), finds the pod template of each Deployment /
Pod, and checks what svkit relies on:
  - svscan is the entrypoint (command, if given, is /sbin/svscan);
  - readiness and liveness probes and the preStop hook are `exec` svctl;
  - readOnlyRootFilesystem with a volume mounted at /run;
  - runAsNonRoot with a numeric runAsUser;
  - the shutdown budget: preStop's `-w` seconds + SVKIT_SHUTDOWN_TIMEOUT
    (svscan's deadline, default 8) < terminationGracePeriodSeconds
    (default 30), so the kubelet's SIGKILL never hits.

On success prints, per container, lines the svkit tests use to run the same
commands in the real image:
  container NAME IMAGE
  env NAME VALUE
  probe KIND ARG<US>ARG...        (US = \\x1f; KIND readiness|liveness|preStop)
  budget PRESTOP SHUTDOWN GRACE
Exits 1 with one line per problem otherwise.
"""
import sys

import yaml

DEFAULT_SHUTDOWN = 8.0
DEFAULT_GRACE = 30


def pod_specs(doc):
    kind = doc.get("kind")
    if kind == "Pod":
        yield doc["spec"]
    elif kind in ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"):
        yield doc["spec"]["template"]["spec"]


def wait_seconds(cmd):
    """The -w SEC of an svctl command line, else svctl's default (7)."""
    for i, arg in enumerate(cmd):
        if arg == "-w" and i + 1 < len(cmd):
            return float(cmd[i + 1])
    return 7.0


def seconds(text):
    text = str(text).strip()
    if text.endswith("ms"):
        return float(text[:-2]) / 1000
    return float(text.rstrip("s"))


def check(path):
    problems, lines = [], []
    try:
        with open(path) as f:
            docs = [d for d in yaml.safe_load_all(f) if isinstance(d, dict)]
    except (OSError, yaml.YAMLError) as e:
        return [f"{path}: invalid YAML: " + " ".join(str(e).split())], []
    specs = [s for d in docs for s in pod_specs(d)]
    if not specs:
        problems.append(f"{path}: no Pod or workload with a pod template")
    for spec in specs:
        grace = spec.get("terminationGracePeriodSeconds", DEFAULT_GRACE)
        pod_sc = spec.get("securityContext", {})
        mounts_by_volume = {v["name"]: v for v in spec.get("volumes", [])}
        for c in spec.get("containers", []):
            name = c["name"]
            sc = {**pod_sc, **c.get("securityContext", {})}
            where = f"{path}: container {name}"
            lines.append(f"container {name} {c['image']}")
            if c.get("command", ["/sbin/svscan"])[0] != "/sbin/svscan":
                problems.append(f"{where}: command is not /sbin/svscan")
            if not sc.get("runAsNonRoot"):
                problems.append(f"{where}: runAsNonRoot is not set")
            if not isinstance(sc.get("runAsUser"), int):
                problems.append(f"{where}: runAsUser must be numeric")
            if not sc.get("readOnlyRootFilesystem"):
                problems.append(f"{where}: readOnlyRootFilesystem is not set")
            run = [m for m in c.get("volumeMounts", []) if m["mountPath"] == "/run"]
            if not run or run[0]["name"] not in mounts_by_volume:
                problems.append(f"{where}: no volume mounted at /run")
            env = {e["name"]: e.get("value", "") for e in c.get("env", [])}
            for k, v in env.items():
                lines.append(f"env {k} {v}")
            hooks = {
                "readiness": c.get("readinessProbe", {}).get("exec", {}).get("command"),
                "liveness": c.get("livenessProbe", {}).get("exec", {}).get("command"),
                "preStop": c.get("lifecycle", {}).get("preStop", {}).get("exec", {}).get("command"),
            }
            for kind, cmd in hooks.items():
                if not cmd or not cmd[0].endswith("/svctl"):
                    problems.append(f"{where}: {kind} is not an exec of svctl")
                else:
                    lines.append(f"probe {kind} " + "\x1f".join(cmd))
            prestop = wait_seconds(hooks["preStop"] or [])
            shutdown = seconds(env.get("SVKIT_SHUTDOWN_TIMEOUT", DEFAULT_SHUTDOWN))
            lines.append(f"budget {prestop:g} {shutdown:g} {grace}")
            if prestop + shutdown >= grace:
                problems.append(
                    f"{where}: preStop {prestop:g} s + svscan deadline {shutdown:g} s"
                    f" does not fit terminationGracePeriodSeconds {grace}"
                )
    return problems, lines


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    problems, lines = check(sys.argv[1])
    if problems:
        print("\n".join(problems), file=sys.stderr)
        sys.exit(1)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
