"""ARCHITECTURE.md's one-way layering: lower layers never import higher ones."""

import ast
from pathlib import Path

import ganforge

ROOT = Path(ganforge.__file__).parent
# layer rank of each top-level module or subpackage; imports must go to an equal or lower rank.
RANK = {"registry": 0, "errors": 0, "config": 0.5, "config_resolve": 0.5, "data": 1, "nets": 1, "losses": 1,
        "samplers": 1, "variants": 2, "train": 3, "metrics": 4, "experiments": 4, "report": 4, "api": 4.5, "cli": 5,
        "__main__": 5, "__init__": 5}
METRIC_MATH_ALLOWED = {"errors", "registry", "metrics"}


def _unit(path: Path) -> str:
    rel = path.relative_to(ROOT)
    return rel.parts[0].removesuffix(".py")


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("ganforge."):
            out.add(node.module.split(".")[1])
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("ganforge."):
                    out.add(alias.name.split(".")[1])
    return out


def test_every_unit_has_a_rank():
    units = {_unit(p) for p in ROOT.rglob("*.py")}
    assert units <= set(RANK), f"add a layer rank for {units - set(RANK)}"


def test_lower_layers_never_import_higher_ones():
    bad = []
    for path in ROOT.rglob("*.py"):
        unit = _unit(path)
        for target in _imports(path):
            if target != unit and RANK[target] > RANK[unit]:
                bad.append(f"{path.relative_to(ROOT)} imports ganforge.{target}")
    assert not bad, bad


def test_metric_math_imports_no_nets_or_variants():
    for path in (ROOT / "metrics").glob("*.py") if (ROOT / "metrics").exists() else []:
        if path.name in ("evaluate.py", "eval_request.py", "features.py", "__init__.py"):
            continue
        assert _imports(path) <= METRIC_MATH_ALLOWED, path


def test_layering_check_catches_a_violation(tmp_path):
    fake = tmp_path / "probe.py"
    fake.write_text("from ganforge.cli import main\nimport ganforge.train.trainer\n")
    assert _imports(fake) == {"cli", "train"}
