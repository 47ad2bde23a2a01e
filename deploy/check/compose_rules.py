#!/usr/bin/env python3
"""What deploy/docker/compose.yaml must wire, beyond the Compose specification's schema
(checked separately with check-jsonschema): the four services, health checks and
depends_on conditions, cvgate's environment pointing at the other services, the shared
upload volume, and a stop grace period longer than cvgate's drain.

    compose_rules.py [--compose PATH]
"""

import argparse
import re
import sys
from pathlib import Path
from urllib.parse import urlsplit

import yaml

from findings import ROOT, Findings, config_variables

EXPECTED_IMAGES = {"mongo": "mongo:7", "postgres": "postgres:16", "rabbitmq": "rabbitmq:3-management"}
URL_HOSTS = {"MONGO_URL": "mongo", "DATABASE_URL": "postgres", "RABBITMQ_URL": "rabbitmq"}


def interpolate(value):
    """Compose's ${VAR:-default} / ${VAR-default} / ${VAR}, with an empty environment."""
    if isinstance(value, str):
        return re.sub(r"\$\{[A-Za-z_][A-Za-z0-9_]*(?::?-([^}]*))?\}", lambda m: m.group(1) or "", value)
    if isinstance(value, dict):
        return {k: interpolate(v) for k, v in value.items()}
    if isinstance(value, list):
        return [interpolate(v) for v in value]
    return value


def seconds(duration) -> float:
    """A Compose duration ("30s", "1m30s", "1500ms") in seconds."""
    total = 0.0
    for amount, unit in re.findall(r"(\d+(?:\.\d+)?)(us|ms|s|m|h)", str(duration)):
        total += float(amount) * {"us": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "h": 3600}[unit]
    return total


def environment(service: dict) -> dict:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {k: "" if v is None else str(v) for k, v in env.items()}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--compose", type=Path, default=ROOT / "deploy/docker/compose.yaml")
    opts = parser.parse_args()
    f = Findings("compose")
    doc = interpolate(yaml.safe_load(opts.compose.read_text()))
    services = doc.get("services") or {}

    for name in ["cvgate", *EXPECTED_IMAGES]:
        f.require(name in services, f"no service `{name}`")
    for name, image in EXPECTED_IMAGES.items():
        if name in services:
            f.require(services[name].get("image") == image, f"{name}: image {services[name].get('image')}, expected {image}")
    for name, service in services.items():
        image = str(service.get("image", ""))
        if image:
            tag = image.rsplit("/", 1)[-1].partition(":")[2]
            f.require(tag and tag != "latest", f"{name}: image {image} has no version tag")
        hc = service.get("healthcheck") or {}
        f.require(hc.get("test") and not hc.get("disable"), f"{name}: no healthcheck (depends_on waits on it)")
    if "cvgate" not in services:
        return f.finish()

    cvgate = services["cvgate"]
    build = cvgate.get("build") or {}
    context = (opts.compose.parent / build.get("context", ".")).resolve()
    dockerfile = context / build.get("dockerfile", "Dockerfile")
    f.require(dockerfile.is_file(), f"cvgate: build.dockerfile {dockerfile} does not exist")
    f.require(context == ROOT, f"cvgate: build context {context} is not the repository root")

    depends = cvgate.get("depends_on") or {}
    for name in EXPECTED_IMAGES:
        cond = depends.get(name, {}).get("condition") if isinstance(depends, dict) else None
        f.require(cond == "service_healthy", f"cvgate: depends_on {name} without condition service_healthy")

    env = environment(cvgate)
    known = config_variables()
    for key in env:
        f.require(key in known, f"cvgate: environment {key} is no cvgate setting (lib/src/cvgate/app/config.cpp)")
    for key, host in URL_HOSTS.items():
        if f.require(key in env, f"cvgate: no {key}"):
            f.require(urlsplit(env[key]).hostname == host, f"cvgate: {key} does not point at the `{host}` service")

    upload = env.get("UPLOAD_VOLUME_PATH", "/uploads")
    mounts = [str(v) for v in cvgate.get("volumes") or []]
    f.require(f"uploads:{upload}" in mounts or any(
        isinstance(v, dict) and v.get("source") == "uploads" and v.get("target") == upload
        for v in cvgate.get("volumes") or []), f"cvgate: the `uploads` volume is not mounted at {upload}")
    f.require("uploads" in (doc.get("volumes") or {}), "no top-level `uploads` volume")

    port = env.get("PORT", "8080")
    ports = [str(p) for p in cvgate.get("ports") or []]
    f.require(any(p.endswith(f":{port}") for p in ports), f"cvgate: container port {port} is not published")

    grace = float(env.get("SHUTDOWN_GRACE_SECONDS", "25"))
    stop = seconds(cvgate.get("stop_grace_period", "10s"))
    f.require(stop > grace, f"cvgate: stop_grace_period {stop:g}s must exceed SHUTDOWN_GRACE_SECONDS {grace:g}s "
                            "(else in-flight uploads are killed)")
    f.require(cvgate.get("stop_signal", "SIGTERM") == "SIGTERM", "cvgate: stop_signal is not SIGTERM")
    return f.finish()


if __name__ == "__main__":
    sys.exit(main())
