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


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory) -> Path:
    """A run folder of ``make demo`` on tests/data/tiny.yaml: every stage finished (about 1 min).

    Shared by the whole session: treat it as read-only, or ``shutil.copytree`` it first.
    """
    from typer.testing import CliRunner

    from edgeser.cli import app

    out = tmp_path_factory.mktemp("pipeline") / "tiny"
    result = CliRunner().invoke(app, ["demo", "--recipe", str(REPO / "tests/data/tiny.yaml"), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "fusion" in result.output and "ops mapped" in result.output
    assert (out / "report.html").is_file() and "report.html" in result.output
    return out
