"""Structure check of nlp/ and flows/: stage packages, sizes, import cycles, side effects.

Stdlib only. From the repository root: `python -m scripts.check_structure [--json]` prints a
Markdown table (or the measurements as JSON) and exits 1 if any check is out of target.
`measure(root)` returns each check's data, a one-line `measured` summary and its `problems`
(empty on target); `problems(measurement)` lists them all as '<check>: <problem>'.
"""

from __future__ import annotations

import argparse
import ast
import fnmatch
import json
import sys
from pathlib import Path

STAGES = ("ingest", "embedding", "themes", "tagging", "sentiment", "drivers", "report")
PRODUCT_DIRS = ("nlp", "flows")  # every check reads these
SIZE_DIRS = (*PRODUCT_DIRS, "scripts")  # module sizes also cover scripts/
FLOW_FILE = "flows/feedback_pipeline.py"
SIDE_EFFECT_EXEMPT = ("nlp/storage.py",)  # the one module of nlp/ that may touch disk or env
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60
MAX_POSITIONAL = 6
MAX_FLOW_LINES = 50

# Side effects stage code leaves to nlp/storage.py: kind -> "pattern[:condition]" words.
#   use     any reference to the dotted name, imports resolved (`from os import environ` counts)
#   call    a call of a dotted name matching the fnmatch pattern, imports resolved
#   method  a call `<receiver>.<pattern>(...)`, any receiver except the exempt modules
# A condition is a CONDITIONS predicate the call must meet: write_mode (open(p, "w")), on_path
# (Path.rename, not df.rename(columns=...)), path_replace (Path.replace(target), not
# str.replace(a, b)), path_arg (df.to_csv(path), not df.to_csv()).
SIDE_EFFECTS = {
    "use": "os.environ os.getenv os.putenv __file__",
    "call": "open:write_mode os.makedirs os.replace os.rename shutil.copy* shutil.rmtree"
    " shutil.move tempfile.* save_file safetensors.*save_file torch.onnx.export"
    " quantize_dynamic onnxruntime.*quantize_dynamic",
    "method": "open:write_mode write_text write_bytes mkdir rename:on_path replace:path_replace"
    " to_parquet:path_arg to_csv:path_arg to_json:path_arg save save_pretrained",
}
_MODE_CHARS = set("rwaxbtU+")
_FRAME_KWARGS = {"columns", "index", "mapper", "axis", "inplace", "copy", "level", "errors"}
_PATH_TOKENS = {"file", "filename", "tmp", "temp", "folder", "directory", "parent", "artefact"}
_PATH_CALLS = {"Path", "PurePath", "with_suffix", "with_name", "with_stem", "joinpath", "resolve"}
CHECKS = (  # key, title, target
    ("syntax", "files parse", "all"),
    ("stage_packages", "stage packages", f"{len(STAGES)}/{len(STAGES)} conform"),
    ("largest_module", "largest module", f"<= {MAX_MODULE_LINES} lines"),
    ("longest_function", "longest function", f"<= {MAX_FUNCTION_LINES} lines"),
    ("positional_params", "positional parameters", f"<= {MAX_POSITIONAL}"),
    ("import_cycles", "import cycles", "none"),
    ("flow_length", "flow body", f"<= {MAX_FLOW_LINES} lines"),
    ("side_effects", "side effects in nlp/", "none"),
    ("tests_mirror", "tests mirror stages", f"{len(STAGES)}/{len(STAGES)}"),
)
Functions = ast.FunctionDef | ast.AsyncFunctionDef


def _parse(path: Path) -> ast.Module | None:
    try:
        return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    except (SyntaxError, ValueError, OSError):
        return None


def _modname(rel: str) -> tuple[str, bool]:
    """'nlp/a/b.py' -> ('nlp.a.b', False); 'nlp/a/__init__.py' -> ('nlp.a', True)."""
    parts = rel.removesuffix(".py").split("/")
    is_pkg = parts[-1] == "__init__"
    return ".".join(parts[:-1] if is_pkg else parts), is_pkg


def _absolute(modname: str, is_pkg: bool, level: int, module: str | None) -> str | None:
    """The absolute module an ImportFrom names (relative imports resolved)."""
    if not level:
        return module
    parts = modname.split(".") if is_pkg else modname.split(".")[:-1]
    if level > len(parts):
        return None
    base = ".".join(parts[: len(parts) - level + 1])
    return f"{base}.{module}" if module else base


def _aliases(tree: ast.Module, modname: str = "", is_pkg: bool = False) -> dict[str, str]:
    """Local name -> dotted name it was imported as, from every import in the module."""
    out: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update({a.asname: a.name for a in node.names if a.asname})
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(modname, is_pkg, node.level, node.module)
            out.update({a.asname or a.name: f"{base}.{a.name}" for a in node.names if base})
    return out


def _dotted(node: ast.AST | None, aliases: dict[str, str]) -> str | None:
    """'a.b.c' for a Name/Attribute chain, its head resolved through the imports."""
    if isinstance(node, ast.Attribute):
        base = _dotted(node.value, aliases)
        return base and f"{base}.{node.attr}"
    return aliases.get(node.id, node.id) if isinstance(node, ast.Name) else None


def _last_name(node: ast.AST) -> str:
    node = node.func if isinstance(node, ast.Call) else node
    return node.attr if isinstance(node, ast.Attribute) else getattr(node, "id", "")


def _functions(tree: ast.AST, prefix: str = "") -> list[tuple[str, ast.FunctionDef]]:
    """(qualified name, node) of every function and method, nested ones included."""
    out = []
    for child in ast.iter_child_nodes(tree):
        if isinstance(child, Functions):
            out += [(prefix + child.name, child), *_functions(child, f"{prefix}{child.name}.")]
        elif isinstance(child, ast.ClassDef):
            out += _functions(child, f"{prefix}{child.name}.")
        else:
            out += _functions(child, prefix)
    return out


def _names_dataclass(root: Path, rel: str, name: str, depth: int = 0) -> bool:
    """Whether `name` (maybe dotted) in module file `rel` is a dataclass; follows imports."""
    tree = _parse(root / rel)
    head, _, rest = name.partition(".")
    for node in tree.body if tree is not None and not rest else ():
        if isinstance(node, ast.ClassDef) and node.name == head:
            return any(_last_name(d) == "dataclass" for d in node.decorator_list)
    target = (_aliases(tree, *_modname(rel)) if tree else {}).get(head, head if rest else None)
    if target is None or depth > 3:
        return False
    source, _, cls = (f"{target}.{rest}" if rest else target).rpartition(".")
    base = root.joinpath(*source.split("."))
    for path in (base.with_name(base.name + ".py"), base / "__init__.py") if source else ():
        if path.is_file():
            return _names_dataclass(root, path.relative_to(root).as_posix(), cls, depth + 1)
    return False


def _stage_issue(root: Path, stage: str) -> str | None:
    """Why nlp/<stage>/ is not a conforming stage package, or None."""
    pkg = root / "nlp" / stage
    if not (pkg / "__init__.py").is_file():
        return "no __init__.py" if pkg.is_dir() else "no package"
    if (root / "nlp" / f"{stage}.py").exists():
        return f"nlp/{stage}.py left beside the package"
    tree = _parse(pkg / "stage.py") if (pkg / "stage.py").is_file() else None
    if tree is None:
        return "no stage.py (or it does not parse)"
    public = [n for n in tree.body if isinstance(n, Functions) and not n.name.startswith("_")]
    if len(public) != 1:
        return f"{len(public)} public functions ({', '.join(n.name for n in public)})"
    fn, args = public[0], public[0].args
    loose = [a.arg for a in args.posonlyargs + args.args]
    loose += [f"*{args.vararg.arg}"] if args.vararg else []
    loose += [f"**{args.kwarg.arg}"] if args.kwarg else []
    if loose:
        return f"{fn.name}() has parameters that are not keyword-only: {', '.join(loose)}"
    returns = fn.returns
    if isinstance(returns, ast.Constant) and isinstance(returns.value, str):
        returns = ast.parse(returns.value, mode="eval").body
    name = _dotted(returns, {})
    if name is None:
        return f"{fn.name}() has no return annotation naming a class"
    if not _names_dataclass(root, f"nlp/{stage}/stage.py", name):
        return f"{fn.name}() returns {name}, not a dataclass defined in or imported into stage.py"
    return None


def _result(measured: str, found: list[str], **data) -> dict:
    """A check's measurement: a one-line summary, its problems (none on target), the data."""
    return {"measured": measured, "problems": found, **data}


def _check_stages(root: Path) -> dict:
    issues = {stage: _stage_issue(root, stage) for stage in STAGES}
    ok = [s for s, issue in issues.items() if issue is None]
    found = [f"nlp/{s}/: {issue}" for s, issue in issues.items() if issue]
    return _result(f"{len(ok)}/{len(STAGES)} conform", found, conforming=ok)


def _check_limit(rows: list[dict], field: str, limit: int, unit: str) -> dict:
    """The row with the largest `field` and every row over `limit`."""
    rows = sorted(rows, key=lambda r: (-r[field], r["where"]))
    over = [r for r in rows if r[field] > limit]
    top = f"{rows[0][field]} ({rows[0]['where']})" if rows else "none"
    found = [f"{r['where']}: {r[field]} {unit}" for r in over]
    return _result(f"max {top}; {len(over)} over", found, top=rows[:1], over=over)


def _check_functions(product: dict[str, ast.Module]) -> tuple[dict, dict]:
    rows = [(f"{rel}:{fn.lineno} {q}", fn) for rel, t in product.items() for q, fn in _functions(t)]
    lengths = [{"where": w, "lines": fn.end_lineno - fn.lineno + 1} for w, fn in rows]
    names = [(w, [a.arg for a in fn.args.posonlyargs + fn.args.args]) for w, fn in rows]
    params = [{"where": w, "positional": len(n) - (n[:1] in (["self"], ["cls"]))} for w, n in names]
    longest = _check_limit(lengths, "lines", MAX_FUNCTION_LINES, "lines")
    return longest, _check_limit(params, "positional", MAX_POSITIONAL, "positional parameters")


def _import_nodes(stmts: list) -> list[ast.Import | ast.ImportFrom]:
    """Imports run when the module is imported: not in functions or `if TYPE_CHECKING:`."""
    out = []
    for node in stmts:
        if isinstance(node, ast.Import | ast.ImportFrom):
            out.append(node)
        elif isinstance(node, ast.If) and _last_name(node.test) == "TYPE_CHECKING":
            out += _import_nodes(node.orelse)
        elif not isinstance(node, Functions):
            for field in ("body", "orelse", "finalbody", "handlers", "cases"):
                out += _import_nodes(getattr(node, field, None) or [])
    return out


def _imports(tree: ast.Module, modname: str, is_pkg: bool, known: set[str]) -> set[str]:
    """The modules among `known` that `tree` imports at module level."""
    out = set()
    for node in _import_nodes(tree.body):
        if isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names if alias.name in known)
            continue
        base = _absolute(modname, is_pkg, node.level, node.module)
        for alias in node.names if base else ():  # `from a.b import c`: module a.b.c or a.b
            sub = f"{base}.{alias.name}"
            out.update([sub] if sub in known else [base] if base in known else [])
    out.discard(modname)
    return out


def _sccs(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (by mutual reachability)."""
    reach: dict[str, set[str]] = {}
    for v in graph:
        seen, todo = set(), [v]
        while todo:
            seen |= (new := set(graph.get(todo.pop(), ())) - seen)
            todo += new
        reach[v] = seen
    components = {tuple(sorted(w for w in reach[v] if v in reach[w])) for v in graph}
    return sorted(list(c) for c in components if len(c) > 1)


def _check_cycles(product: dict[str, ast.Module]) -> dict:
    names = {rel: _modname(rel) for rel in product}
    known = {name for name, _ in names.values()}
    graph = {name: _imports(product[rel], name, pkg, known) for rel, (name, pkg) in names.items()}
    cycles = _sccs(graph)
    measured = f"{len(cycles)} cycles ({len(graph)} modules, {sum(map(len, graph.values()))} edges)"
    found = ["cycle: " + ", ".join(c) for c in cycles]
    return _result(measured, found, cycles=cycles, graph={k: sorted(graph[k]) for k in graph})


def _check_flow(tree: ast.Module | None) -> dict:
    flows = []
    for qual, fn in _functions(tree) if tree is not None else ():
        if not any(_last_name(d) == "flow" for d in fn.decorator_list):
            continue
        body = fn.body[1:] if ast.get_docstring(fn, clean=False) is not None else fn.body
        starts = [n.lineno for s in body[:1] for n in [s, *getattr(s, "decorator_list", [])]]
        lines = fn.end_lineno - min(starts) + 1 if starts else 0
        flows.append({"where": f"{FLOW_FILE}:{fn.lineno} {qual}", "lines": lines})
    over = [f"{f['where']}: {f['lines']} lines" for f in flows if f["lines"] > MAX_FLOW_LINES]
    measured = ", ".join(f"{f['lines']} lines" for f in flows) or "no @flow found"
    return _result(measured, over if flows else [f"no @flow in {FLOW_FILE}"], flows=flows)


def _write_mode(call: ast.Call) -> bool:
    """open(p, "w"), p.open("a"), gzip.open(p, "wt"): a literal mode with w, a, x or +."""
    mode = next((k.value for k in call.keywords if k.arg == "mode"), None)
    bare = isinstance(call.func, ast.Name)  # open(file, mode) but path.open(mode)
    for node in [mode] if mode else call.args[1:2] if bare else call.args[:2]:
        value = node.value if isinstance(node, ast.Constant) else None
        if isinstance(value, str) and value and set(value) <= _MODE_CHARS:
            return bool(set(value) & set("wax+"))
    return False


def _pathlike(node: ast.AST) -> bool:
    """`a / b`, Path(...), p.with_suffix(...), or a name like out_dir, tmp, file_path."""
    if isinstance(node, ast.BinOp):
        return isinstance(node.op, ast.Div)
    if isinstance(node, ast.Call):
        return _last_name(node) in _PATH_CALLS
    tokens = _last_name(node).lower().split("_")  # "" for anything but a name or attribute
    return any(t in _PATH_TOKENS or t.endswith(("path", "dir")) for t in tokens if t)


def _on_path(call: ast.Call) -> bool:
    frame = any(k.arg in _FRAME_KWARGS for k in call.keywords)
    return not frame and any(_pathlike(n) for n in [call.func.value, *call.args])


CONDITIONS = {
    "write_mode": _write_mode,
    "on_path": _on_path,
    "path_replace": lambda call: len(call.args) == 1 and not call.keywords and _on_path(call),
    "path_arg": lambda call: (
        bool(call.args) or any(k.arg in ("path", "path_or_buf") for k in call.keywords)
    ),
}
RULES = [(kind, *f"{w}:".split(":")[:2]) for kind, ws in SIDE_EFFECTS.items() for w in ws.split()]


def _side_effect(node: ast.AST, aliases: dict[str, str], exempt: set[str]) -> str | None:
    """Which SIDE_EFFECTS rule `node` matches, as a short label, or None."""
    is_call = isinstance(node, ast.Call)
    target = node.func if is_call else node
    dotted = _dotted(target, aliases)
    method = target.attr if isinstance(target, ast.Attribute) else None
    for kind, pattern, condition in RULES:
        if kind == "use" and not is_call and dotted and fnmatch.fnmatchcase(dotted, pattern):
            return dotted
        if kind == "call" and is_call and dotted and fnmatch.fnmatchcase(dotted, pattern):
            label = f"{dotted}()"
        elif kind == "method" and is_call and method == pattern:
            label = f".{method}()" if _dotted(target.value, aliases) not in exempt else None
        else:
            continue
        if label and (not condition or CONDITIONS[condition](node)):
            return label
    return None


def _check_side_effects(product: dict[str, ast.Module]) -> dict:
    exempt = {_modname(rel)[0] for rel in SIDE_EFFECT_EXEMPT}
    hits = []
    for rel, tree in product.items():
        if rel.startswith("nlp/") and rel not in SIDE_EFFECT_EXEMPT:
            aliases = _aliases(tree, *_modname(rel))
            for node in ast.walk(tree):
                if what := _side_effect(node, aliases, exempt):
                    hits.append({"path": rel, "line": node.lineno, "what": what})
    hits.sort(key=lambda h: (h["path"], h["line"], h["what"]))
    found = [f"{h['path']}:{h['line']}: {h['what']}" for h in hits]
    return _result(f"{len(hits)} in {len({h['path'] for h in hits})} files", found, hits=hits)


def _check_tests(root: Path) -> dict:
    missing = [s for s in STAGES if not any((root / "tests" / "nlp" / s).glob("test_*.py"))]
    found = [f"tests/nlp/{s}/ has no test_*.py" for s in missing]
    return _result(f"{len(STAGES) - len(missing)}/{len(STAGES)}", found, missing=missing)


def measure(root: Path) -> dict:
    """Every check's measurements on the repository at `root`, keyed as CHECKS."""
    root = Path(root)
    paths = [p for top in SIZE_DIRS for p in sorted((root / top).rglob("*.py"))]
    files = {p.relative_to(root).as_posix(): p for p in paths}
    trees = {rel: _parse(path) for rel, path in files.items()}
    product = {r: t for r, t in trees.items() if r.split("/")[0] in PRODUCT_DIRS and t}
    text = {rel: p.read_text(encoding="utf-8", errors="replace") for rel, p in files.items()}
    sizes = [{"where": rel, "lines": len(t.splitlines())} for rel, t in text.items()]
    bad = [rel for rel, tree in trees.items() if tree is None]
    longest, positional = _check_functions(product)
    return {
        "syntax": _result(f"{len(bad)} unparsable", [f"{rel} does not parse" for rel in bad]),
        "stage_packages": _check_stages(root),
        "largest_module": _check_limit(sizes, "lines", MAX_MODULE_LINES, "lines"),
        "longest_function": longest,
        "positional_params": positional,
        "import_cycles": _check_cycles(product),
        "flow_length": _check_flow(trees.get(FLOW_FILE)),
        "side_effects": _check_side_effects(product),
        "tests_mirror": _check_tests(root),
    }


def problems(measurement: dict, check: str | None = None) -> list[str]:
    """'<check>: <problem>' for every way `measurement` misses target (one check if named)."""
    keys = [check] if check else [key for key, _, _ in CHECKS]
    return [f"{key}: {p}" for key in keys for p in measurement[key]["problems"]]


def render(measurement: dict) -> str:
    """The Markdown table, then the list of problems."""
    lines = ["| check | target | measured | ok |", "|---|---|---|---|"]
    for key, title, target in CHECKS:
        ok = "no" if measurement[key]["problems"] else "yes"
        lines.append(f"| {title} | {target} | {measurement[key]['measured']} | {ok} |")
    found = problems(measurement)
    return "\n".join(lines + ([""] + [f"- {p}" for p in found] if found else []))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print the measurements as JSON")
    parser.add_argument("--root", type=Path, default=Path(__file__).resolve().parent.parent)
    args = parser.parse_args(argv)
    measurement = measure(args.root)
    print(json.dumps(measurement, indent=2) if args.json else render(measurement))
    return 1 if problems(measurement) else 0


if __name__ == "__main__":
    sys.exit(main())
