"""Every query of the Grafana dashboard and of the alerting rules names metrics (and labels) that a
real cvgate exposes.

    check_queries.py SCRAPE [--dashboard grafana-dashboard.json] [--rules alerts.yaml]

SCRAPE is the text of a real GET /metrics (test/deploy/observability.sh takes it from a cvgate
that has served a submit). A metric exists when the scrape has its `# TYPE` line (a histogram's
_bucket/_sum/_count included); a label exists when a sample of that metric carries it, or, for a
metric without samples yet (a counter such as cvgate_rollbacks_total before the first
rollback), when cvgate's source renders it (lib/src/cvgate/app/metrics.cpp). Also checks the
dashboard's shape: unique panel ids, a datasource and a query on every graph. Prints one line per
problem; exits 1 when there is one.
"""

import argparse
import json
import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]

# PromQL words that are not metric names.
KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and", "or",
            "unless", "offset", "inf", "nan"}
LABEL_CLAUSE = re.compile(r"\b(by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)")
SELECTOR = re.compile(r"([a-zA-Z_:][a-zA-Z0-9_:]*)?\s*\{([^}]*)\}")
MATCHER = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"')
IDENT = re.compile(r"(?<![\w$.])([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(\()?")
# Labels Prometheus adds to every scraped series.
TARGET_LABELS = {"job", "instance"}


def parse_scrape(text):
    """{family: {"type": t, "labels": set(label names seen on its samples)}}"""
    families, samples = {}, {}
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(maxsplit=3)
            families[name] = {"type": kind, "labels": set()}
        elif line and not line.startswith("#"):
            m = re.match(r"([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([^}]*)\})?\s", line)
            if m:
                samples.setdefault(m.group(1), set()).update(
                    lm.group(1) for lm in MATCHER.finditer(m.group(3) or ""))
    for name, labels in samples.items():
        family = name
        for suffix in ("_bucket", "_sum", "_count"):
            base = name[: -len(suffix)]
            if name.endswith(suffix) and families.get(base, {}).get("type") in ("histogram", "summary"):
                family = base
        if family in families:
            families[family]["labels"] |= labels - {"le"} if family != name else labels
            families[family].setdefault("samples", set()).add(name)
    return families


def source_labels(metric):
    """Label names cvgate's metrics.cpp / application.cpp render for a metric (for families
    without samples in the scrape)."""
    src = (ROOT / "lib/src/cvgate/app/metrics.cpp").read_text()
    m = re.search(r'render_counters\(out, "' + re.escape(metric) + r'", "[^"]*", "(\w+)",\s*"(\w+)"', src)
    return set(m.groups()) if m else set()


def resolve(families, name):
    """(family, is a valid series name) for a metric name as written in a query."""
    if name in families:
        return name, families[name]["type"] not in ("histogram",)
    for suffix in ("_bucket", "_sum", "_count"):
        if name.endswith(suffix) and families.get(name[: -len(suffix)], {}).get("type") == "histogram":
            return name[: -len(suffix)], True
    return None, False


def check_expr(expr, where, families, problems):
    text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)  # no string contents from here on
    # Label names of by/without/on clauses, checked against the metrics of the expression.
    clause_labels = set()
    for m in LABEL_CLAUSE.finditer(text):
        clause_labels |= {x.strip() for x in m.group(2).split(",") if x.strip()}
    text_no_clauses = LABEL_CLAUSE.sub(" ", text)

    metrics = []
    for m in SELECTOR.finditer(expr):
        if m.group(1):
            metrics.append((m.group(1), {lm.group(1) for lm in MATCHER.finditer(m.group(2))}))
    bare = re.sub(r"\{[^}]*\}", " ", text_no_clauses)
    bare = re.sub(r"\[[^\]]*\]", " ", bare)
    for m in IDENT.finditer(bare):
        word, call = m.group(1), m.group(2)
        if call or word.lower() in KEYWORDS or word.startswith("$"):
            continue
        if not any(word == n for n, _ in metrics):
            metrics.append((word, set()))
    if not metrics:
        problems.append(f"{where}: names no metric: {expr}")
    all_labels = set()
    for name, labels in metrics:
        family, ok = resolve(families, name)
        if family is None or not ok:
            problems.append(f"{where}: metric {name} is not in the scrape")
            continue
        known = families[family]["labels"] | source_labels(family) | TARGET_LABELS
        if name.endswith("_bucket"):
            known |= {"le"}
        all_labels |= known
        for label in labels - known:
            problems.append(f"{where}: {name} has no label {label} (it has: {', '.join(sorted(known))})")
    for label in clause_labels - all_labels:
        problems.append(f"{where}: no metric of the query has the label {label}: {expr}")


def dashboard_queries(path, problems):
    dash = json.loads(pathlib.Path(path).read_text())
    ids = set()
    queries = []
    for panel in dash.get("panels", []):
        pid = panel.get("id")
        if pid in ids:
            problems.append(f"{path}: panel id {pid} used twice")
        ids.add(pid)
        if panel.get("type") == "row":
            continue
        title = panel.get("title", "?")
        if not panel.get("datasource"):
            problems.append(f"{path}: panel '{title}' has no datasource")
        targets = panel.get("targets") or []
        if not targets:
            problems.append(f"{path}: panel '{title}' has no query")
        for t in targets:
            queries.append((f"dashboard panel '{title}' {t.get('refId')}", t.get("expr", "")))
    for var in dash.get("templating", {}).get("list", []):
        q = var.get("query")
        if isinstance(q, dict):
            q = q.get("query", "")
        m = re.fullmatch(r"label_values\((.*),\s*(\w+)\)", q or "")
        if var.get("type") == "query":
            if not m:
                problems.append(f"{path}: variable {var.get('name')}: not a label_values() query: {q}")
            else:
                queries.append((f"dashboard variable {var['name']}", m.group(1)))
    return queries


def rule_queries(path):
    import yaml

    doc = yaml.safe_load(pathlib.Path(path).read_text())
    return [(f"rule {r.get('alert') or r.get('record')}", r["expr"])
            for g in doc["groups"] for r in g["rules"]]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("scrape")
    p.add_argument("--dashboard")
    p.add_argument("--rules")
    a = p.parse_args()
    families = parse_scrape(pathlib.Path(a.scrape).read_text())
    if not families:
        print(f"{a.scrape}: no metric family in the scrape")
        return 1
    problems = []
    queries = []
    if a.dashboard:
        queries += dashboard_queries(a.dashboard, problems)
    if a.rules:
        queries += rule_queries(a.rules)
    for where, expr in queries:
        check_expr(expr, where, families, problems)
    for line in problems:
        print(line)
    print(f"check_queries: {len(queries)} queries against {len(families)} metric families: "
          f"{len(problems)} problem(s)", file=sys.stderr)
    return 1 if problems or not queries else 0


if __name__ == "__main__":
    sys.exit(main())
