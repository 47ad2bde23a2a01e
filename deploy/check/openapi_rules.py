#!/usr/bin/env python3
"""What lib/src/cvgate/api/openapi.json must describe, beyond being valid OpenAPI (checked
separately with openapi-spec-validator): every route the code registers, every route and
error status of CONTRACT.md, and the project's version.

    openapi_rules.py [--document PATH] [--contract PATH]
"""

import argparse
import json
import os
import re
import sys
from pathlib import Path

from findings import ROOT, Findings

METHODS = {"get", "put", "post", "delete", "patch", "head", "options"}


def code_routes() -> set[tuple[str, str]]:
    """(method, path) of every literal route registered in the library: `.add(http::Verb::get, "/x", ...)`."""
    routes = set()
    for source in (ROOT / "lib/src/cvgate").rglob("*.cpp"):
        for verb, path in re.findall(r'\.add\(\s*(?:http::)?Verb::(\w+)\s*,\s*"(/[^"]*)"', source.read_text()):
            routes.add((verb.rstrip("_"), path))
    return routes


def contract_routes(text: str) -> set[tuple[str, str]]:
    return {(m.lower(), p) for m, p in re.findall(r"`(GET|POST|PUT|PATCH|DELETE) (/[^`\s]*)`", text)}


def contract_statuses(text: str) -> set[str]:
    errors = text.split("## Errors", 1)[-1].split("\n## ", 1)[0]
    return set(re.findall(r"^\| (\d{3}) \|", errors, re.M))


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--document", type=Path, default=ROOT / "lib/src/cvgate/api/openapi.json")
    default_contract = os.environ.get("CVGATE_CONTRACT") or ROOT.parent / "shared/design/CONTRACT.md"
    parser.add_argument("--contract", type=Path, default=Path(default_contract))
    opts = parser.parse_args()
    f = Findings("openapi")

    doc = json.loads(opts.document.read_text())
    operations = {(m, p) for p, item in doc.get("paths", {}).items() for m in item if m in METHODS}
    statuses = {s for p in doc.get("paths", {}).values() for m, op in p.items() if m in METHODS
                for s in op.get("responses", {})}

    # Asset routes under /docs/ serve the page, they are not API operations.
    for method, path in sorted(code_routes()):
        if path.startswith("/docs/"):
            continue
        f.require((method, path) in operations, f"the code serves {method.upper()} {path}; the document lacks it")

    if opts.contract.is_file():
        text = opts.contract.read_text()
        for method, path in sorted(contract_routes(text)):
            f.require((method, path) in operations, f"CONTRACT.md has {method.upper()} {path}; the document lacks it")
        for status in sorted(contract_statuses(text)):
            f.require(status in statuses, f"CONTRACT.md lists status {status}; no operation documents it")
    else:
        f.note(f"{opts.contract} not found (set CVGATE_CONTRACT): routes not compared with the contract")

    version = re.search(r"project\(cvgate VERSION (\S+)", (ROOT / "CMakeLists.txt").read_text())
    if f.require(version, "no project VERSION in CMakeLists.txt"):
        f.require(doc.get("info", {}).get("version") == version.group(1),
                  f"info.version {doc.get('info', {}).get('version')} is not the project's {version.group(1)}")
    return f.finish()


if __name__ == "__main__":
    sys.exit(main())
