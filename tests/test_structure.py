"""Structure of nlp/ and flows/ (scripts/check_structure.py): the repository meets each target,
and the checker itself measures small synthetic trees correctly. Stdlib only, no model imports.

The repository tests fail until the one-package-per-stage restructure lands; the checker tests
pass on their own.
"""

from __future__ import annotations

import importlib.util
import json
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _load_checker():
    path = ROOT / "scripts" / "check_structure.py"
    spec = importlib.util.spec_from_file_location("check_structure", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


cs = _load_checker()


def write(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
    return root


def flagged_lines(source: str) -> set[int]:
    """Line numbers of `source` (dedented) marked with a `# flag` comment."""
    lines = textwrap.dedent(source).splitlines()
    return {i for i, line in enumerate(lines, 1) if line.rstrip().endswith("# flag")}


# ---- the repository meets every target --------------------------------------------------------


@pytest.fixture(scope="module")
def repo() -> dict:
    return cs.measure(ROOT)


def test_structure_all_files_parse(repo):
    assert cs.problems(repo, "syntax") == []


def test_structure_stage_packages_conform(repo):
    assert cs.problems(repo, "stage_packages") == []


def test_structure_modules_at_most_400_lines(repo):
    assert cs.problems(repo, "largest_module") == []


def test_structure_functions_at_most_60_lines(repo):
    assert cs.problems(repo, "longest_function") == []


def test_structure_at_most_6_positional_parameters(repo):
    assert cs.problems(repo, "positional_params") == []


def test_structure_no_import_cycles(repo):
    assert cs.problems(repo, "import_cycles") == []


def test_structure_flow_body_at_most_50_lines(repo):
    assert cs.problems(repo, "flow_length") == []


def test_structure_no_side_effects_in_stage_code(repo):
    assert cs.problems(repo, "side_effects") == []


def test_structure_tests_mirror_stage_packages(repo):
    assert cs.problems(repo, "tests_mirror") == []


# ---- the checker, on synthetic trees ----------------------------------------------------------

STAGE_OK = textwrap.dedent(
    """\
    from dataclasses import dataclass


    @dataclass(frozen=True)
    class IngestResult:
        rows: int


    def _helper(x, y, z):
        return x


    def run(*, config, previous=None) -> IngestResult:
        return IngestResult(rows=0)
    """
)


def test_structure_checker_accepts_keyword_only_stage_returning_dataclass(tmp_path):
    write(tmp_path, {"nlp/__init__.py": "", "nlp/ingest/__init__.py": ""})
    write(tmp_path, {"nlp/ingest/stage.py": STAGE_OK})
    m = cs.measure(tmp_path)["stage_packages"]
    assert m["conforming"] == ["ingest"]
    assert not [p for p in m["problems"] if p.startswith("nlp/ingest/")]


def test_structure_checker_follows_imported_dataclass(tmp_path):
    result = """\
        import dataclasses


        @dataclasses.dataclass
        class ThemesResult:
            n: int
        """
    stage = """\
        from __future__ import annotations

        from nlp.themes.result import ThemesResult


        def run(*, docs) -> ThemesResult:
            return ThemesResult(0)
        """
    relative = "from .. import schemas\n\ndef run(*, x) -> schemas.Tags:\n    return None\n"
    write(
        tmp_path,
        {"nlp/__init__.py": "", "nlp/themes/__init__.py": "", "nlp/tagging/__init__.py": ""},
    )
    write(tmp_path, {"nlp/themes/result.py": result, "nlp/themes/stage.py": stage})
    schemas = "from dataclasses import dataclass\n\n@dataclass\nclass Tags:\n    n: int\n"
    write(tmp_path, {"nlp/schemas.py": schemas})
    write(tmp_path, {"nlp/tagging/stage.py": relative})
    assert cs.measure(tmp_path)["stage_packages"]["conforming"] == ["themes", "tagging"]


@pytest.mark.parametrize(
    ("stage_py", "reason"),
    [
        (STAGE_OK.replace("def run(*, config,", "def run(config, *,"), "not keyword-only: config"),
        (STAGE_OK.replace("(*, config, previous=None)", "(*args)"), "not keyword-only: *args"),
        (STAGE_OK.replace("@dataclass(frozen=True)", ""), "not a dataclass"),
        (STAGE_OK.replace(" -> IngestResult", ""), "no return annotation"),
        (STAGE_OK.replace("-> IngestResult", "-> Missing"), "not a dataclass"),
        (STAGE_OK + "\n\ndef other(*, x) -> IngestResult:\n    pass\n", "2 public functions"),
    ],
)
def test_structure_checker_rejects_nonconforming_stage(tmp_path, stage_py, reason):
    write(tmp_path, {"nlp/ingest/__init__.py": "", "nlp/ingest/stage.py": stage_py})
    m = cs.measure(tmp_path)["stage_packages"]
    assert "ingest" not in m["conforming"]
    [problem] = [p for p in m["problems"] if p.startswith("nlp/ingest/")]
    assert reason in problem


def test_structure_checker_reports_missing_stage_parts(tmp_path):
    write(tmp_path, {"nlp/embedding/stage.py": STAGE_OK, "nlp/themes/__init__.py": ""})
    write(tmp_path, {"nlp/report/__init__.py": "", "nlp/report/stage.py": STAGE_OK})
    write(tmp_path, {"nlp/report.py": "x = 1\n"})
    problems = cs.measure(tmp_path)["stage_packages"]["problems"]
    assert "nlp/embedding/: no __init__.py" in problems
    assert "nlp/themes/: no stage.py (or it does not parse)" in problems
    assert "nlp/ingest/: no package" in problems
    assert "nlp/report/: nlp/report.py left beside the package" in problems


def test_structure_checker_module_size_limit_is_inclusive(tmp_path):
    write(tmp_path, {"scripts/big.py": "x = 1\n" * 401, "nlp/ok.py": "x = 1\n" * 400})
    m = cs.measure(tmp_path)["largest_module"]
    assert m["top"] == [{"where": "scripts/big.py", "lines": 401}]
    assert m["problems"] == ["scripts/big.py: 401 lines"]


def test_structure_checker_function_length_limit_is_inclusive(tmp_path):
    long = "def long():\n" + "    x = 1\n" * 60  # 61 lines
    ok = "def ok():\n" + "    x = 1\n" * 59  # 60 lines
    method = "class C:\n    def outer(self):\n        def inner():\n" + "            x = 1\n" * 60
    write(tmp_path, {"nlp/a.py": long + "\n\n" + ok, "flows/b.py": method})
    m = cs.measure(tmp_path)["longest_function"]
    over = {r["where"]: r["lines"] for r in m["over"]}
    assert over == {
        "nlp/a.py:1 long": 61,
        "flows/b.py:2 C.outer": 62,
        "flows/b.py:3 C.outer.inner": 61,
    }


def test_structure_checker_counts_positional_parameters(tmp_path):
    source = """\
        def seven(a, b, c, d, e, f, g): ...
        def kw_only(a, *, b, c, d, e, f, g, h): ...
        def star(a, *args, b, c, d, e, f, g): ...
        def posonly(a, b, /, c, d, e, f, g): ...
        class C:
            def method(self, a, b, c, d, e, f): ...
            @classmethod
            def build(cls, a, b, c, d, e, f, g): ...
        """
    write(tmp_path, {"flows/p.py": source})
    over = {r["where"]: r["positional"] for r in cs.measure(tmp_path)["positional_params"]["over"]}
    assert over == {"flows/p.py:1 seven": 7, "flows/p.py:4 posonly": 7, "flows/p.py:8 C.build": 7}


def test_structure_checker_reports_import_cycles(tmp_path):
    write(
        tmp_path,
        {
            "nlp/__init__.py": "",
            "nlp/a.py": "from nlp import b\n",
            "nlp/b.py": "import nlp.a\n",
            "nlp/pkg/__init__.py": "from .x import thing\n",
            "nlp/pkg/x.py": "from . import y\nthing = 1\n",
            "nlp/pkg/y.py": "from nlp.pkg.x import thing\n",
            "flows/__init__.py": "",
            "flows/z.py": "from nlp.a import name\n",
        },
    )
    m = cs.measure(tmp_path)["import_cycles"]
    assert m["cycles"] == [["nlp.a", "nlp.b"], ["nlp.pkg.x", "nlp.pkg.y"]]
    assert m["graph"]["flows.z"] == ["nlp.a"]
    assert m["graph"]["nlp.pkg"] == ["nlp.pkg.x"]


def test_structure_checker_skips_type_checking_and_function_imports(tmp_path):
    c = """\
        from typing import TYPE_CHECKING

        if TYPE_CHECKING:
            from nlp import d
        else:
            import json
        """
    e = "def late():\n    from nlp import f\n"
    write(tmp_path, {"nlp/c.py": c, "nlp/d.py": "from nlp import c\n", "nlp/e.py": e})
    write(tmp_path, {"nlp/f.py": "import nlp.e\n", "nlp/__init__.py": ""})
    m = cs.measure(tmp_path)["import_cycles"]
    assert m["cycles"] == [] and m["problems"] == []
    assert m["graph"]["nlp.c"] == [] and m["graph"]["nlp.e"] == []


SIDE_EFFECTS_SOURCE = """\
    import os
    import shutil
    import tempfile
    from os import environ
    from pathlib import Path

    HERE = Path(__file__).parent  # flag


    def work(df, s, path: Path, tmp, out_dir, model, series):
        token = os.environ.get("TOKEN")  # flag
        other = environ["OTHER"]  # flag
        level = os.getenv("LEVEL")  # flag
        path.write_text("x")  # flag
        (out_dir / "a.bin").write_bytes(b"")  # flag
        out_dir.mkdir(parents=True)  # flag
        os.makedirs(out_dir)  # flag
        tmp.rename(path)  # flag
        tmp.replace(path)  # flag
        os.replace(tmp, path)  # flag
        shutil.rmtree(tmp)  # flag
        shutil.copy2(tmp, path)  # flag
        d = tempfile.mkdtemp()  # flag
        with open(path, "w") as fh:  # flag
            fh.write("x")
        with path.open("ab") as fh:  # flag
            pass
        df.to_parquet(path)  # flag
        df.to_csv(path_or_buf=path)  # flag
        df.to_json(path)  # flag
        model.save_pretrained(out_dir)  # flag
        renamed = df.rename(columns={"a": "b"})
        renamed = df.rename(index=str)
        cleaned = s.replace("a", "b")
        blanked = series.replace("", None)
        text = open(path).read()
        with path.open("rb") as fh:
            pass
        body = df.to_json()
        table = df.to_csv()
        shutil.which("ls")
        return token, other, level, renamed, cleaned, blanked, text, body, table, d
    """


def test_structure_checker_flags_side_effects_not_ordinary_code(tmp_path):
    write(tmp_path, {"nlp/themes/model.py": SIDE_EFFECTS_SOURCE})
    m = cs.measure(tmp_path)["side_effects"]
    assert {h["line"] for h in m["hits"]} == flagged_lines(SIDE_EFFECTS_SOURCE)
    whats = {h["what"] for h in m["hits"]}
    assert {"os.environ", "os.getenv", "__file__", ".write_text()", "shutil.rmtree()"} <= whats


def test_structure_checker_resolves_imported_writers(tmp_path):
    source = """\
        import torch


        def export(model, x, out):
            from onnxruntime.quantization import quantize_dynamic
            from safetensors.numpy import save_file

            torch.onnx.export(model, x, out)  # flag
            quantize_dynamic(out, out)  # flag
            save_file({}, out)  # flag
            torch.save(model, out)  # flag
        """
    write(tmp_path, {"nlp/embedding/encode.py": source})
    m = cs.measure(tmp_path)["side_effects"]
    assert {h["line"] for h in m["hits"]} == flagged_lines(source)
    assert "onnxruntime.quantization.quantize_dynamic()" in {h["what"] for h in m["hits"]}


def test_structure_checker_exempts_storage_and_calls_into_it(tmp_path):
    caller = """\
        from nlp import storage


        def keep(head, directory):
            storage.save(head, directory)
        """
    write(tmp_path, {"nlp/storage.py": SIDE_EFFECTS_SOURCE, "nlp/tagging/head.py": caller})
    write(tmp_path, {"flows/io.py": SIDE_EFFECTS_SOURCE})  # flows/ may do I/O
    assert cs.measure(tmp_path)["side_effects"]["hits"] == []


def test_structure_checker_measures_flow_body_without_docstring(tmp_path):
    def flow_file(n: int) -> str:
        body = "".join(f"    x{i} = {i}\n" for i in range(n - 1))
        return f'@flow(name="p")\ndef pipeline(config):\n    """Doc."""\n{body}    return x0\n'

    write(tmp_path, {"flows/feedback_pipeline.py": flow_file(50)})
    m = cs.measure(tmp_path)["flow_length"]
    assert [f["lines"] for f in m["flows"]] == [50] and m["problems"] == []
    write(tmp_path, {"flows/feedback_pipeline.py": flow_file(51)})
    m = cs.measure(tmp_path)["flow_length"]
    assert m["problems"] == ["flows/feedback_pipeline.py:2 pipeline: 51 lines"]
    write(tmp_path, {"flows/feedback_pipeline.py": "def pipeline():\n    pass\n"})
    assert cs.measure(tmp_path)["flow_length"]["problems"] != []


def test_structure_checker_requires_mirrored_test_directories(tmp_path):
    write(tmp_path, {"tests/nlp/ingest/test_stage.py": "", "tests/nlp/embedding/helpers.py": ""})
    m = cs.measure(tmp_path)["tests_mirror"]
    assert "ingest" not in m["missing"]
    assert "embedding" in m["missing"] and "report" in m["missing"]


def test_structure_checker_cli_prints_table_and_exit_status(tmp_path, capsys):
    assert cs.main(["--root", str(tmp_path)]) == 1  # an empty tree has no stage packages
    out = capsys.readouterr().out
    assert out.startswith("| check | target | measured | ok |\n|---|---|---|---|\n")
    assert "| import cycles | none | 0 cycles (0 modules, 0 edges) | yes |" in out
    assert cs.main(["--root", str(tmp_path), "--json"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert set(data) == {key for key, _, _ in cs.CHECKS}
    assert cs.problems(data) == cs.problems(cs.measure(tmp_path))
