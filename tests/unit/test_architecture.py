"""Who may import whom (docs/architecture.md): a stage uses only the base layer; the parts that stand in
for AWS (emulation) and register with it (deploy) are reached only from the edges."""

from __future__ import annotations

import ast
from pathlib import Path

import retailstream
from retailstream import steps

PACKAGE = Path(retailstream.__file__).parent
STAGES = ("upload", "crawl", "clean", "load", "features", "consolidate", "transfer", "usecases")
ROOT = PACKAGE.parents[1]
# What a stage must never import: the lab, the AWS stand-ins, the deploy layer, the orchestration.
ABOVE_STAGES = ("lab", "emulation", "deploy", "orchestration")
# Who may import emulation/ and deploy/: the lab, the orchestration, those two themselves, the CLI.
EDGES = ("lab", "orchestration", "emulation", "deploy")


def _imports(path: Path) -> set[str]:
    """Every retailstream module the file imports, at the top or inside a function."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {name for name in found if name.startswith("retailstream.")}


def _layer(module: str) -> str:
    return module.split(".")[1]


def test_the_stages_are_the_eight_packages_under_stages():
    found = {path.name for path in (PACKAGE / "stages").iterdir() if (path / "__init__.py").exists()}
    assert found == set(STAGES) == set(steps.STAGES)


def test_each_step_has_one_name_end_to_end():
    """A step's name is its metric label, its stage budget and its quarantine stage; its stage is its
    package and its CLI group (the DAG's task ids: tests/unit/test_dag_schedule.py)."""
    import yaml
    from typer.main import get_command

    from retailstream import quarantine
    from retailstream.cli import app
    from retailstream.monitoring import metrics

    assert metrics.STAGES == steps.NAMES
    budgets = yaml.safe_load((ROOT / "prometheus" / "rules" / "stage_budgets.yml").read_text())
    assert {rule["labels"]["stage"] for rule in budgets["groups"][0]["rules"]} == set(steps.NAMES)
    assert set(quarantine.STAGES) <= set(steps.NAMES)
    groups = get_command(app).commands
    assert all(stage in groups and not groups[stage].hidden for stage in steps.STAGES)
    assert all(step.stage in STAGES and set(step.upstream) <= set(steps.NAMES) for step in steps.STEPS)


def _modules():
    for path in sorted(PACKAGE.rglob("*.py")):
        yield path, path.relative_to(PACKAGE).parts


def test_no_stage_imports_the_lab_emulation_deploy_or_orchestration():
    broken = [
        f"{'/'.join(parts)} imports {name}"
        for path, parts in _modules()
        if parts[0] == "stages" and parts[-1] != "cli.py"  # a CLI command is an edge
        for name in _imports(path)
        if _layer(name) in ABOVE_STAGES
    ]
    assert not broken, "\n".join(broken)


def test_only_the_edges_import_emulation_and_deploy():
    broken = [
        f"{'/'.join(parts)} imports {name}"
        for path, parts in _modules()
        if parts[0] not in EDGES and parts[-1] != "cli.py"
        for name in _imports(path)
        if _layer(name) in ("emulation", "deploy")
    ]
    assert not broken, "\n".join(broken)


def test_the_rule_sees_imports_inside_functions(tmp_path):
    source = tmp_path / "probe.py"
    source.write_text(
        "def f():\n    from retailstream.lab import health\n    import retailstream.deploy.glue_job\n"
    )
    assert _imports(source) >= {"retailstream.lab", "retailstream.deploy.glue_job"}


# Where a stage's code starts on AWS, with nothing to pass it settings: the Glue job's script and the
# Lambda's handler read theirs from the environment, as the CLI and the DAG do.
ENTRY_POINTS = {("stages", "clean", "glue_script.py"), ("stages", "load", "handler.py")}


def test_stages_take_their_settings_as_an_argument():
    """``get_settings()`` only at the edges: inside a stage, settings are passed in, never looked up."""
    looked_up = [
        "/".join(parts)
        for path, parts in _modules()
        if parts[0] == "stages" and parts[-1] != "cli.py" and parts not in ENTRY_POINTS
        if "retailstream.settings.get_settings" in _imports(path)
    ]
    assert not looked_up, looked_up
