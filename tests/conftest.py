"""Shared test fixtures: paths to the repository and to the real data in ../shared/data."""

from __future__ import annotations

from pathlib import Path

import pytest

import edgeser  # noqa: F401  (tf-keras before TensorFlow)

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
RAVDESS = SHARED_DATA / "ravdess"


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO


@pytest.fixture(scope="session")
def ravdess_root() -> Path:
    """The real RAVDESS speech clips (actors 01–12); skips the test when absent."""
    if not RAVDESS.is_dir():
        pytest.skip(f"real RAVDESS clips not found at {RAVDESS} (../shared/data/ravdess); this test needs them")
    return RAVDESS
