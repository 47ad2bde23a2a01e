#!/usr/bin/env python3
"""The rules deploy/docker/Dockerfile must keep beyond hadolint's: what the image promises
(non-root, health check, graceful stop, the upload volume), slim apt layers, and a runtime
package list that is exactly what the binary links (when a built binary is given).

    dockerfile_rules.py [--dockerfile PATH] [--binary path/to/cvgate]
"""

import argparse
import json
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

from findings import ROOT, Findings

# In debian:bookworm-slim already (Essential or apt's own dependencies).
BASE_PACKAGES = {"libc6", "libstdc++6", "libgcc-s1"}
# Installed on purpose without being linked: TLS roots for managed databases and brokers.
EXTRA_RUNTIME_PACKAGES = {"ca-certificates"}


def instructions(text: str) -> list[tuple[int, str, str]]:
    """(stage, KEYWORD, arguments) for each instruction, continuation lines joined."""
    out, stage, pending = [], -1, ""
    for raw in text.splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if pending and line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line = pending + line
        pending = ""
        keyword, _, args = line.partition(" ")
        keyword = keyword.upper()
        if keyword == "FROM":
            stage += 1
        out.append((stage, keyword, args.strip()))
    return out


def apt_packages(run: str) -> list[str]:
    """The packages an `apt-get install` in a RUN line names."""
    pkgs = []
    for command in re.split(r"&&|;|\|\|", run):
        words = shlex.split(command)
        if len(words) >= 2 and words[0] == "apt-get" and "install" in words:
            pkgs += [w for w in words[words.index("install") + 1 :] if not w.startswith("-")]
    return pkgs


def needed_packages(binary: Path, f: Findings) -> set[str] | None:
    """Debian packages that provide the binary's DT_NEEDED libraries (readelf + ldconfig + dpkg)."""
    if not (shutil.which("readelf") and shutil.which("dpkg") and shutil.which("ldconfig")):
        f.note("readelf/dpkg/ldconfig missing: runtime package list not compared with the binary")
        return None
    dynamic = subprocess.run(["readelf", "-d", str(binary)], capture_output=True, text=True, check=True).stdout
    needed = re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", dynamic)
    cache = subprocess.run(["ldconfig", "-p"], capture_output=True, text=True, check=True).stdout
    paths = dict(re.findall(r"^\s*(\S+) \(libc6,x86-64[^)]*\) => (\S+)$", cache, re.M))
    packages = set()
    for lib in needed:
        if lib.startswith("ld-linux"):
            packages.add("libc6")
            continue
        path = paths.get(lib)
        if not f.require(path is not None, f"{binary.name} needs {lib}, which ldconfig does not know"):
            continue
        owner = subprocess.run(["dpkg", "-S", str(Path(path).resolve())], capture_output=True, text=True)
        if owner.returncode != 0:
            # merged /usr: dpkg may know the other spelling of the path
            alt = str(Path(path).resolve()).replace("/usr/lib/", "/lib/", 1)
            owner = subprocess.run(["dpkg", "-S", alt], capture_output=True, text=True)
        if f.require(owner.returncode == 0, f"no Debian package owns {path} ({lib})"):
            packages.add(owner.stdout.split(":")[0].strip())
    return packages


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dockerfile", type=Path, default=ROOT / "deploy/docker/Dockerfile")
    parser.add_argument("--binary", type=Path, help="a built cvgate, to compare the runtime packages with")
    opts = parser.parse_args()
    f = Findings("Dockerfile")
    ins = instructions(opts.dockerfile.read_text())
    stages = max(s for s, _, _ in ins) + 1
    final = stages - 1
    f.require(stages >= 2, "not multi-stage: a build stage and a runtime stage are expected")

    for stage, keyword, args in ins:
        if keyword == "FROM":
            image = args.split()[0]
            last = image.split("@")[0].rsplit("/", 1)[-1]
            tag = last.split(":", 1)[1] if ":" in last else ""
            f.require(tag or "@sha256:" in image, f"FROM {image}: no tag or digest")
            f.require(tag != "latest", f"FROM {image}: `latest` is not a version")
            if stage == final:
                f.require(image.startswith("debian:bookworm-slim"), f"runtime stage FROM {image}: expected debian:bookworm-slim")
            elif stage == 0:
                f.require(image.startswith("debian:bookworm") and "slim" not in image,
                          f"build stage FROM {image}: expected debian:bookworm (the README's platform)")
        if keyword == "ADD":
            f.require(not re.search(r"https?://", args), "ADD of a URL: fetch in a RUN with checks, or COPY")
        if keyword == "RUN" and re.search(r"\bapt-get\s+(-\S+\s+)*install\b", args):
            f.require("--no-install-recommends" in args, f"apt-get install without --no-install-recommends: {args[:60]}...")
            f.require(re.search(r"\s-y\b|--yes\b|--assume-yes\b", args) is not None, "apt-get install without -y")
            if stage == final:
                f.require("apt-get update" in args, "runtime apt-get install without apt-get update in the same RUN")
                f.require("rm -rf /var/lib/apt/lists/*" in args, "runtime apt-get install leaves /var/lib/apt/lists behind")
        if keyword == "RUN" and "curl" in args and "|" in args:
            f.require(not re.search(r"curl[^|]*\|\s*(ba)?sh", args), "curl | sh: download, verify, then run")

    runtime = [(k, a) for s, k, a in ins if s == final]
    users = [a for k, a in runtime if k == "USER"]
    if f.require(users, "runtime stage has no USER: the container would run as root"):
        user = users[-1].split(":")[0]
        f.require(user not in ("root", "0"), f"runtime USER {users[-1]} is root")
        f.require(user.isdigit(), f"USER {users[-1]}: use a numeric uid so Kubernetes runAsNonRoot can verify it")
    healthchecks = [a for k, a in runtime if k == "HEALTHCHECK"]
    if f.require(healthchecks, "runtime stage has no HEALTHCHECK"):
        f.require("/healthz" in healthchecks[-1], "HEALTHCHECK does not probe /healthz")
        f.require(not healthchecks[-1].upper().startswith("NONE"), "HEALTHCHECK NONE")
    f.require(("STOPSIGNAL", "SIGTERM") in runtime, "no STOPSIGNAL SIGTERM")
    f.require(any(k == "EXPOSE" and "8080" in a.split() for k, a in runtime), "no EXPOSE 8080")
    volumes = " ".join(a for k, a in runtime if k == "VOLUME")
    f.require("/uploads" in volumes, "no VOLUME /uploads")
    f.require(any(k == "ENV" and "UPLOAD_VOLUME_PATH=/uploads" in a for k, a in runtime), "no ENV UPLOAD_VOLUME_PATH=/uploads")
    entry = [a for k, a in runtime if k == "ENTRYPOINT"]
    if f.require(entry, "no ENTRYPOINT"):
        try:
            argv = json.loads(entry[-1])
            f.require(isinstance(argv, list) and argv and argv[0].endswith("/cvgate"),
                      "ENTRYPOINT is not the cvgate binary")
        except json.JSONDecodeError:
            f.fail("ENTRYPOINT in shell form: signals would go to /bin/sh, not cvgate (use the exec form)")

    # The runtime packages are exactly what the binary links (plus the deliberate extras).
    runtime_pkgs = {p for k, a in runtime if k == "RUN" for p in apt_packages(a)}
    binary = opts.binary
    if binary is None or not binary.is_file():
        f.note("no cvgate binary given (or not built yet): runtime package list not compared with it")
    else:
        needed = needed_packages(binary, f)
        if needed is not None:
            missing = needed - BASE_PACKAGES - runtime_pkgs
            extra = runtime_pkgs - needed - EXTRA_RUNTIME_PACKAGES
            f.require(not missing, f"the binary links libraries of {sorted(missing)}, not installed in the runtime stage")
            f.require(not extra, f"runtime stage installs {sorted(extra)}, which the binary does not link")
            if not missing and not extra:
                f.note(f"runtime packages match {binary.name}'s DT_NEEDED: {sorted(needed - BASE_PACKAGES)}")
    return f.finish()


if __name__ == "__main__":
    sys.exit(main())
