#!/usr/bin/env python3
"""One source of truth for building cvgate: the image's build stage runs the commands the
README gives (deploy/local/install-deps.sh, then the release preset as deploy/local/run.sh
builds it), and install-deps.sh knows every switch the Dockerfile hands it.

    build_steps.py [--dockerfile PATH]
"""

import argparse
import re
import sys
from pathlib import Path

from dockerfile_rules import instructions
from findings import ROOT, Findings


def commands(text: str) -> list[str]:
    """Shell commands of a script or RUN line, split at && and ;, white space normalised."""
    out = []
    for line in text.splitlines():
        line = line.split(" #", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        for part in re.split(r"&&|;", line):
            part = " ".join(part.split())
            if part:
                out.append(part)
    return out


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dockerfile", type=Path, default=ROOT / "deploy/docker/Dockerfile")
    opts = parser.parse_args()
    f = Findings("build steps")

    readme = (ROOT / "README.md").read_text()
    run_sh = (ROOT / "deploy/local/run.sh").read_text()
    install_deps = (ROOT / "deploy/local/install-deps.sh").read_text()
    ins = instructions(opts.dockerfile.read_text())
    build_stage = [a for s, k, a in ins if s == 0 and k == "RUN"]
    image_cmds = [c for run in build_stage for c in commands(run)]

    # The README's way to a running server is deploy/local/run.sh; its build steps, in order.
    f.require("deploy/local/run.sh" in readme, "README no longer points to deploy/local/run.sh")
    local = [c.replace('"$here/', "deploy/local/").replace('"', "") for c in commands(run_sh)
             if "install-deps.sh" in c or c.startswith("cmake ")]
    f.require(any("install-deps.sh" in c for c in local) and any(c.startswith("cmake --build") for c in local),
              "deploy/local/run.sh: install-deps.sh / cmake --build steps not found")
    position = -1
    for cmd in local:
        if "install-deps.sh" in cmd:
            # The image may set variables and flags of the same script.
            hits = [i for i, c in enumerate(image_cmds) if re.search(r"(^|\s)deploy/local/install-deps\.sh(\s|$)", c)]
        else:
            hits = [i for i, c in enumerate(image_cmds) if c == cmd]
        if f.require(hits, f"the Dockerfile's build stage does not run `{cmd}` (deploy/local/run.sh does)"):
            f.require(hits[0] > position, f"`{cmd}` runs out of the order of deploy/local/run.sh")
            position = hits[0]

    # The README's "Building by hand" release lines build the same preset.
    for line in re.findall(r"^cmake --preset release[^\n]*", readme, re.M):
        for cmd in commands(line.split("#")[0]):
            f.require(any(c.startswith(cmd) for c in image_cmds),
                      f"README's `{cmd}` has no counterpart in the Dockerfile's build stage")

    # The binary the image copies is the one run.sh runs.
    served = re.search(r'"\$root/(build/release/apps/cvgate/cvgate)"', run_sh)
    copies = [a for s, k, a in ins if k == "COPY" and "--from=" in a]
    if f.require(served, "deploy/local/run.sh: the release binary's path not found"):
        f.require(any(served.group(1) in a for a in copies),
                  f"the runtime stage does not copy {served.group(1)} (the binary run.sh serves)")

    # Variables the Dockerfile passes to install-deps.sh must mean something to it.
    for cmd in image_cmds:
        if "install-deps.sh" not in cmd:
            continue
        for var in re.findall(r"(?:^|\s)([A-Z][A-Z0-9_]*)=\S*", cmd.split("install-deps.sh")[0]):
            f.require(re.search(rf"\b{var}\b", install_deps),
                      f"the Dockerfile sets {var} for install-deps.sh, which does not know it "
                      f"(without it, the image build would also build the local MongoDB-wire server)")
        for flag in re.findall(r"\s(--[a-z-]+)", cmd.split("install-deps.sh", 1)[1]):
            f.require(flag in install_deps, f"install-deps.sh has no flag {flag}")
    return f.finish()


if __name__ == "__main__":
    sys.exit(main())
