"""Shared test fixtures: paths to the repository and to the real data in ../shared/data, and
one tiny run of the whole pipeline that every test needing a trained, quantised run shares."""

from __future__ import annotations

from pathlib import Path

import pytest

import edgeser  # noqa: F401  (tf-keras before TensorFlow)

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
RAVDESS = SHARED_DATA / "ravdess"
EMODB = SHARED_DATA / "emodb"


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO


@pytest.fixture(scope="session")
def ravdess_root() -> Path:
    """The real RAVDESS speech clips (actors 01–12); skips the test when absent."""
    if not RAVDESS.is_dir():
        pytest.skip(f"real RAVDESS clips not found at {RAVDESS} (../shared/data/ravdess); this test needs them")
    return RAVDESS


@pytest.fixture(scope="session")
def emodb_root() -> Path:
    """The real Berlin EmoDB clips (four emotions, ten speakers); skips the test when absent."""
    if not EMODB.is_dir():
        pytest.skip(f"real EmoDB clips not found at {EMODB} (../shared/data/emodb); this test needs them")
    return EMODB


def _snapshot(folder: Path) -> dict[str, str]:
    """sha256 of every file below ``folder``, by relative path."""
    import hashlib

    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory):
    """A run folder of ``make demo`` on tests/data/tiny.yaml: every stage finished (about 1 min).

    Shared by the whole session and read-only: a test that writes into a run takes
    ``private_run`` instead. At the end of the session every file is checked against its
    hash when the fixture was made; a change fails the session (an error at teardown).
    """
    from typer.testing import CliRunner

    from edgeser.cli import app

    out = tmp_path_factory.mktemp("pipeline") / "tiny"
    result = CliRunner().invoke(app, ["demo", "--recipe", str(REPO / "tests/data/tiny.yaml"), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "fusion" in result.output and "ops mapped" in result.output
    assert (out / "report.html").is_file() and "report.html" in result.output
    before = _snapshot(out)
    yield out
    after = _snapshot(out)
    changed = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
    assert not changed, f"a test changed the shared tiny run (use private_run): {changed[:10]}"


def tiny_variant_run(folder: Path, name: str, changes: dict[str, dict]) -> Path:
    """``edgeser demo`` on tests/data/tiny.yaml with ``changes`` ({section: {key: value}})
    under the recipe name ``name``, in ``folder``; returns the run folder."""
    import yaml
    from typer.testing import CliRunner

    from edgeser.cli import app

    recipe = yaml.safe_load((REPO / "tests/data/tiny.yaml").read_text())
    recipe["name"] = name
    for section, values in changes.items():
        recipe.setdefault(section, {}).update(values)
    (folder / f"{name}.yaml").write_text(yaml.safe_dump(recipe))
    out = folder / "run"
    result = CliRunner().invoke(app, ["demo", "--recipe", str(folder / f"{name}.yaml"), "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture(scope="module")
def private_run(tiny_run, tmp_path_factory) -> Path:
    """A copy of the shared tiny run that the tests of one module may write into."""
    import shutil

    out = tmp_path_factory.mktemp("private_run") / "tiny"
    shutil.copytree(tiny_run, out)
    return out
