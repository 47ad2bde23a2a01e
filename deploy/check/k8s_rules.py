#!/usr/bin/env python3
"""What the Kubernetes base must hold beyond the API schemas (checked separately with
kubernetes-validate): probes on /healthz and /readyz, a locked-down security context that
matches the image's user, the upload PVC (ReadWriteMany) at UPLOAD_VOLUME_PATH, a grace
period longer than preStop + SHUTDOWN_GRACE_SECONDS, names and selectors that agree across
files, configuration keys cvgate knows, and placeholder-only example secrets.

    k8s_rules.py [--dir deploy/k8s]
"""

import argparse
import sys
from pathlib import Path

import yaml

from findings import ROOT, Findings, config_variables, dockerfile_user

SECRET_KEYS = {"MONGO_URL", "DATABASE_URL", "RABBITMQ_URL", "API_KEYS", "POSTGRES_PASSWORD", "RABBITMQ_PASS"}
PLACEHOLDER = "CHANGE-ME"


def load(directory: Path) -> dict[str, list[dict]]:
    return {p.name: [d for d in yaml.safe_load_all(p.read_text()) if d] for p in sorted(directory.glob("*.yaml"))}


def one(docs: dict[str, list[dict]], kind: str, f: Findings) -> dict:
    found = [d for ds in docs.values() for d in ds if d.get("kind") == kind]
    f.require(len(found) == 1, f"expected one {kind}, found {len(found)}")
    return found[0] if found else {}


def port_number(container: dict, port) -> int | None:
    if isinstance(port, int):
        return port
    for p in container.get("ports") or []:
        if p.get("name") == port:
            return p.get("containerPort")
    return None


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dir", type=Path, default=ROOT / "deploy/k8s")
    opts = parser.parse_args()
    f = Findings("k8s")
    docs = load(opts.dir)

    kustomization = (docs.get("kustomization.yaml") or [{}])[0]
    resources = kustomization.get("resources") or []
    for r in resources:
        f.require((opts.dir / r).is_file(), f"kustomization lists {r}, which does not exist")
    for name in docs:
        if name not in ("kustomization.yaml", "secret.example.yaml"):
            f.require(name in resources, f"{name} is not in kustomization.yaml's resources")
    f.require("secret.example.yaml" not in resources, "secret.example.yaml must not be applied by the base")

    config = one(docs, "ConfigMap", f)
    secret = one(docs, "Secret", f)
    deployment = one(docs, "Deployment", f)
    service = one(docs, "Service", f)
    pvc = one(docs, "PersistentVolumeClaim", f)
    pdb = one(docs, "PodDisruptionBudget", f)
    hpa = one(docs, "HorizontalPodAutoscaler", f)
    if f.problems:
        return f.finish()

    # Configuration: names cvgate reads; credentials only in the Secret, and only placeholders.
    known = config_variables()
    data = {k: str(v) for k, v in (config.get("data") or {}).items()}
    for key in data:
        f.require(key in known, f"ConfigMap key {key} is no cvgate setting (lib/src/cvgate/app/config.cpp)")
        f.require(key not in SECRET_KEYS, f"ConfigMap holds {key}: credentials belong in the Secret")
    secret_data = {**(secret.get("stringData") or {}), **(secret.get("data") or {})}
    for key, value in secret_data.items():
        f.require(key in known, f"Secret key {key} is no cvgate setting")
        f.require(PLACEHOLDER in str(value), f"secret.example.yaml: {key} is not a {PLACEHOLDER} placeholder")

    # The pod.
    pod = deployment["spec"]["template"]
    spec = pod["spec"]
    labels = pod["metadata"].get("labels") or {}
    f.require(deployment["spec"]["selector"]["matchLabels"].items() <= labels.items(),
              "Deployment selector does not match its pod labels")
    containers = spec.get("containers") or []
    f.require(len(containers) == 1, "expected one container")
    c = containers[0]

    psc, csc = spec.get("securityContext") or {}, c.get("securityContext") or {}
    f.require(psc.get("runAsNonRoot") is True or csc.get("runAsNonRoot") is True, "runAsNonRoot is not set")
    f.require(csc.get("readOnlyRootFilesystem") is True, "readOnlyRootFilesystem is not set")
    f.require(csc.get("allowPrivilegeEscalation") is False, "allowPrivilegeEscalation is not false")
    f.require("ALL" in ((csc.get("capabilities") or {}).get("drop") or []), "capabilities are not all dropped")
    user = dockerfile_user()
    if f.require(user is not None, "the Dockerfile has no numeric USER to compare runAsUser with"):
        uid = csc.get("runAsUser", psc.get("runAsUser"))
        f.require(uid == user[0], f"runAsUser {uid} is not the image's uid {user[0]}")
        f.require(psc.get("fsGroup") == user[1], f"fsGroup {psc.get('fsGroup')} is not the image's gid {user[1]}")

    res = c.get("resources") or {}
    for part in ("requests", "limits"):
        for what in ("cpu", "memory"):
            f.require(what in (res.get(part) or {}), f"no {what} {part[:-1]}")

    port = int(data.get("PORT", "8080"))
    f.require(any(p.get("containerPort") == port for p in c.get("ports") or []),
              f"no containerPort {port} (the ConfigMap's PORT)")
    probes = {"livenessProbe": "/healthz", "readinessProbe": "/readyz", "startupProbe": "/healthz"}
    for probe, path in probes.items():
        p = c.get(probe) or {}
        get = p.get("httpGet") or {}
        if f.require(get, f"no {probe} (httpGet)"):
            f.require(get.get("path") == path, f"{probe} probes {get.get('path')}, expected {path}")
            f.require(port_number(c, get.get("port")) == port, f"{probe} port is not {port}")

    pre_stop = (((c.get("lifecycle") or {}).get("preStop") or {}).get("exec") or {}).get("command") or []
    sleep = 0
    if f.require(len(pre_stop) == 2 and pre_stop[0] == "sleep", "no preStop `sleep N` (endpoints drain before SIGTERM)"):
        sleep = int(pre_stop[1])
        f.require(3 <= sleep <= 15, f"preStop sleeps {sleep}s")
    grace = int(data.get("SHUTDOWN_GRACE_SECONDS", "25"))
    drain = int(data.get("DRAIN_SECONDS", "5"))
    f.require(drain == 0 or drain < grace,
              f"DRAIN_SECONDS {drain} must be less than SHUTDOWN_GRACE_SECONDS {grace} (cvgate refuses to start)")
    period = spec.get("terminationGracePeriodSeconds", 30)
    f.require(period > sleep + grace,
              f"terminationGracePeriodSeconds {period} must exceed preStop {sleep} + SHUTDOWN_GRACE_SECONDS {grace}")

    env_from = c.get("envFrom") or []
    f.require({"configMapRef": {"name": config["metadata"]["name"]}} in env_from,
              f"envFrom lacks the ConfigMap {config['metadata']['name']}")
    f.require(any((e.get("secretRef") or {}).get("name") == secret["metadata"]["name"] for e in env_from),
              f"envFrom lacks the Secret {secret['metadata']['name']}")

    upload = data.get("UPLOAD_VOLUME_PATH", "/uploads")
    claim = pvc["metadata"]["name"]
    volumes = {v["name"]: v for v in spec.get("volumes") or []}
    mounts = {m["mountPath"]: m["name"] for m in c.get("volumeMounts") or []}
    mounted = (volumes.get(mounts.get(upload), {}).get("persistentVolumeClaim") or {}).get("claimName")
    f.require(mounted == claim, f"the PVC {claim} is not mounted at {upload}")
    f.require("ReadWriteMany" in (pvc["spec"].get("accessModes") or []), "the upload PVC is not ReadWriteMany")
    if "/tmp" in mounts:
        f.require("emptyDir" in volumes.get(mounts["/tmp"], {}), "/tmp is not an emptyDir")

    # The other objects point at the pod and the Deployment.
    f.require(service["spec"]["selector"].items() <= labels.items(), "Service selector does not match the pod labels")
    for sp in service["spec"].get("ports") or []:
        f.require(port_number(c, sp.get("targetPort")) == port, f"Service port {sp.get('name')} does not reach {port}")
    f.require(pdb["spec"]["selector"]["matchLabels"].items() <= labels.items(), "PDB selector does not match the pod labels")
    f.require(hpa["apiVersion"] == "autoscaling/v2", "the HPA is not autoscaling/v2")
    ref = hpa["spec"]["scaleTargetRef"]
    f.require(ref.get("kind") == "Deployment" and ref.get("name") == deployment["metadata"]["name"],
              "the HPA does not scale the Deployment")
    f.require(any((m.get("resource") or {}).get("name") == "cpu" for m in hpa["spec"].get("metrics") or []),
              "the HPA has no CPU metric")
    f.require(hpa["spec"].get("minReplicas", 1) >= 2, "HPA minReplicas < 2: a drain or a crash takes the service down")
    return f.finish()


if __name__ == "__main__":
    sys.exit(main())
