"""The house rules, read from the source with ast: which wing may import which, and how long code may grow."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

PACKAGE = ROOT / "bgfx"
FOUNDATION = {"bgfx.errors", "bgfx.shipped", "bgfx.atomic_file"}  # importable from every wing
TOOLS = {"bgfx.cli", "bgfx.offline", "bgfx.bench", "bgfx.doctor", "bgfx.service", "bgfx.config", "bgfx.output_files", "bgfx.config_edit",
         "bgfx.reference", "bgfx.__main__"}


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path) -> set[str]:
    """Every module an import statement in the file names, at any depth (functions, TYPE_CHECKING blocks)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names if node.module == "bgfx")
    return names


MODULES = {module_name(path): imports_of(path) for path in sorted(PACKAGE.rglob("*.py"))}


def _within(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


def vision_rule(module: str, name: str) -> bool:
    return not _within(module, "bgfx.vision") or name in FOUNDATION or _within(name, "bgfx.vision")


def live_rule(module: str, name: str) -> bool:
    return not _within(module, "bgfx.live") or name not in TOOLS and name != "bgfx"


def violations(allowed, modules: dict[str, set[str]] = MODULES) -> list[str]:
    return [f"{module} imports {name}" for module, names in modules.items() for name in sorted(names)
            if _within(name, "bgfx") and not allowed(module, name)]


def test_every_module_belongs_to_a_wing_or_the_tools() -> None:
    assert MODULES, "no modules found"
    stray = [m for m in MODULES if m != "bgfx" and m not in FOUNDATION | TOOLS
             and not _within(m, "bgfx.vision") and not _within(m, "bgfx.live")]
    assert stray == []


def test_vision_imports_nothing_from_live_or_the_tools() -> None:
    assert violations(vision_rule) == []


def test_live_imports_nothing_from_the_tools() -> None:
    assert violations(live_rule) == []


def test_only_the_segmentation_module_imports_mediapipe() -> None:
    importers = sorted(m for m, names in MODULES.items() if any(_within(n, "mediapipe") for n in names))
    assert importers == ["bgfx.vision.segmentation"]


def test_the_rules_catch_an_upward_import(tmp_path: Path) -> None:
    """The checks above can fail: an upward import in a vision module is reported."""
    upward = tmp_path / "bgfx" / "vision" / "x.py"
    upward.parent.mkdir(parents=True)
    upward.write_text("def f():\n    from bgfx.live.daemon import Daemon\n    return Daemon\n")
    assert violations(vision_rule, {"bgfx.vision.x": imports_of(upward)}) == ["bgfx.vision.x imports bgfx.live.daemon"]
    assert violations(live_rule, {"bgfx.live.x": {"bgfx.config", "bgfx.vision.frame"}}) == ["bgfx.live.x imports bgfx.config"]


def _definitions(kind: type) -> list[tuple[str, int]]:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, kind):
                found.append((f"{path.relative_to(ROOT)}:{node.lineno} {node.name}", node.end_lineno - node.lineno + 1))
    return found


@pytest.mark.parametrize(("kind", "limit"), [(ast.ClassDef, 200), (ast.FunctionDef, 60)])
def test_no_class_over_200_lines_and_no_function_over_60(kind: type, limit: int) -> None:
    sizes = _definitions(kind)
    assert len(sizes) > 20
    assert [(name, lines) for name, lines in sizes if lines > limit] == []


def test_the_daemon_class_stays_a_short_read() -> None:
    (lines,) = [lines for name, lines in _definitions(ast.ClassDef) if name.endswith(" Daemon")]
    assert lines <= 150


def _modules_after(code: str) -> set[str]:
    """The modules a fresh interpreter holds after running `code` (the import graph as it really is)."""
    listing = subprocess.run([sys.executable, "-c", f"{code}\nimport sys\nprint('\\n'.join(sys.modules))"],
                             cwd=ROOT, capture_output=True, text=True, check=True).stdout
    return set(listing.split())


@pytest.mark.e2e
def test_loading_a_config_imports_no_engine() -> None:
    """A config check, `bgfx doctor`'s config line or an edit's validation must not pay for MediaPipe or a sink."""
    loaded = _modules_after("from bgfx import config\nconfig.load()")
    assert not {name for name in loaded if name.split(".")[0] in ("mediapipe", "pyvirtualcam", "gi")}
    assert "bgfx.vision.segmentation" not in loaded and "bgfx.live.sinks.virtualcam" not in loaded


@pytest.mark.e2e
def test_bgfx_ctl_imports_neither_opencv_nor_numpy() -> None:
    """`bgfx ctl` is bound to hotkeys: it starts in a tenth of a second because it loads no engine."""
    loaded = _modules_after("import bgfx.cli\ntry:\n    bgfx.cli.main(['ctl', 'status'])\nexcept SystemExit:\n    pass")
    assert "bgfx.cli" in loaded and "bgfx.live.control.socket_server" in loaded
    assert not {name for name in loaded if name.split(".")[0] in ("cv2", "numpy", "mediapipe")}
