"""The run report: sections from a real tiny run, optional sections, 'not run' notes, and the
HTML loaded in real headless Chromium (every image resolves; a broken one is detected)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

import edgeser  # noqa: F401
from edgeser import report as rpt

HEADINGS = ("Run summary", "Results", "Confusion matrices", "Training curves", "Edge TPU mapping",
            "Memory vs budget", "Latency")


def chromium_binary() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        if shutil.which(name):
            return shutil.which(name)
    return None


def browser_dom(html_path: Path, profile: Path) -> str:
    """The DOM of ``html_path`` after its load event, as headless Chromium renders it."""
    exe = chromium_binary()
    if exe is None:
        pytest.skip("no chromium binary on PATH (Debian: apt-get install chromium); the browser test needs it")
    command = [exe, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", f"--user-data-dir={profile}",
               "--virtual-time-budget=10000", "--dump-dom", html_path.resolve().as_uri()]
    done = subprocess.run(command, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def images_ok(dom: str) -> tuple[int, int, str]:
    """(decoded images, all images, the srcs of broken ones) from the page's own load script."""
    match = re.search(r'<body[^>]*data-images-ok="(\d+)/(\d+)"', dom)
    assert match, "the page's load script did not run"
    broken = re.search(r'data-images-broken="([^"]*)"', dom).group(1)
    return int(match.group(1)), int(match.group(2)), broken


@pytest.fixture(scope="module")
def run_copy(tiny_run, tmp_path_factory) -> Path:
    """A copy of the session's tiny run (without the corpus audio and feature cache)."""
    out = tmp_path_factory.mktemp("report") / "tiny"
    shutil.copytree(tiny_run, out, ignore=shutil.ignore_patterns("corpus", "cache", "firmware", "*.npz", "*.tflite"))
    return out


def test_report_of_a_real_run_in_chromium(run_copy, tmp_path):
    html_path, md_path = rpt.build_report(run_copy)
    assert (html_path, md_path) == (run_copy / "report.html", run_copy / "report.md")
    assert not list(run_copy.glob(".report*.tmp"))  # atomic writes leave no temp file
    pngs = sorted(p.name for p in run_copy.glob("*.png"))
    assert len(pngs) >= 5  # confusion_acoustic, confusion_fusion, curves_* ×4
    text = html_path.read_text()
    assert "http://" not in text and "https://" not in text  # self-contained
    for name in pngs:
        assert f'<img src="{name}"' in text

    dom = browser_dom(html_path, tmp_path / "profile")
    ok, total, broken = images_ok(dom)
    assert (ok, total, broken) == (len(pngs), len(pngs), "")
    for heading in HEADINGS:
        assert f"<h2>{heading}</h2>" in dom

    # The numbers are the run's own, formatted as percentages.
    metrics = json.loads((run_copy / "train_metrics.json").read_text())["scores"]["acoustic"]
    evaluate = json.loads((run_copy / "evaluate.json").read_text())["scores"]["acoustic"]
    row = "| acoustic | " + " | ".join(f"{100 * s[k]:.1f}" for s in (metrics, evaluate) for k in ("wa", "ua", "macro_f1")) + " |"
    assert row in md_path.read_text()
    manifest = json.loads((run_copy / "manifest.json").read_text())
    assert manifest["recipe_sha256"] in dom and "edgeser run report — tiny" in dom
    md = md_path.read_text()
    assert "Not run: no noise/*.json (the noise-robustness evaluation)." in md and "edgetpu_compiler: not run" in md
    assert "PREDICTED Dev Board Micro, one clip" in md and "paper: 21–23 ms" in md


def test_broken_image_is_detected(run_copy, tmp_path):
    broken_run = tmp_path / "run"
    shutil.copytree(run_copy, broken_run)
    html_path, _ = rpt.build_report(broken_run)
    (broken_run / "confusion_acoustic.png").unlink()  # the report now points at a missing file
    ok, total, broken = images_ok(browser_dom(html_path, tmp_path / "profile"))
    assert ok == total - 1 and broken == "confusion_acoustic.png"


def test_optional_sections_are_rendered(run_copy, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(run_copy, run)
    (run / "noise").mkdir()
    (run / "noise" / "noise.json").write_text(json.dumps({"snr_db": [20, 10, 0], "ua": {"acoustic": [0.5, 0.4, 0.3]}}))
    shutil.copy(run / "curves_acoustic.png", run / "noise" / "ua_vs_snr.png")
    (run / "cross_corpus_emodb").mkdir()
    (run / "cross_corpus_emodb" / "result.json").write_text(json.dumps({"train": "demo", "test": "emodb", "ua": 0.31}))
    baseline = {"corpus": "ravdess", "feature_set": "eGeMAPSv02", "folds": [{}] * 4,
                "summary": {k: {m: {"mean": 0.5, "std": 0.02} for m in ("wa", "ua", "macro_f1")} for k in ("lr", "mlp")}}
    (run / "baseline.json").write_text(json.dumps(baseline))
    html_path, md_path = rpt.build_report(run)
    md = md_path.read_text()
    assert "| snr_db | 20, 10, 0 |" in md and "| ua.acoustic | 0.5, 0.4, 0.3 |" in md
    assert "![ua vs snr](noise/ua_vs_snr.png)" in md
    assert "| ua | 0.31 |" in md and "| test | emodb |" in md
    assert "| LR | 50.0 ± 2.0 | 50.0 ± 2.0 | 50.0 ± 2.0 |" in md and "ravdess, eGeMAPSv02, 4 leave-speakers-out folds" in md
    assert "Not run: no explain/ folder." in md and "Not run: no noise" not in md
    ok, total, broken = images_ok(browser_dom(html_path, tmp_path / "profile"))
    assert ok == total and "noise/ua_vs_snr.png" in html_path.read_text()


def test_empty_run_folder_says_not_run(tmp_path):
    html_path, md_path = rpt.build_report(tmp_path)
    md = md_path.read_text()
    assert md.count("Not run:") == len(rpt.SECTIONS)
    assert md.startswith(f"# edgeser run report — {tmp_path.name}")
    assert html_path.read_text().count('class="notrun"') == len(rpt.SECTIONS)


def test_memory_verdicts_and_budget_numbers(tmp_path):
    def section(total: int) -> str:
        memory = {"budget_bytes": 1_800_000, "goal_bytes": 1_000_000, "frontend_bytes": 2048, "total_bytes": total,
                  "models": {"acoustic": {"flash_bytes": 10240, "arena_bytes": 5120}}, "notes": []}
        (tmp_path / "memory.json").write_text(json.dumps(memory))
        return rpt.render_markdown([rpt.memory(tmp_path)], "t")

    within = section(900_000)
    assert "| acoustic | 10.0 | 5.0 | 15.0 |" in within and "| frontend working memory | — | — | 2.0 |" in within
    assert "Total 0.900 MB: within the goal (paper budget 1.8 MB, goal 1.0 MB)." in within
    assert "Total 1.200 MB: over the goal" in section(1_200_000)
    assert "Total 2.000 MB: over the paper budget" in section(2_000_000)


def test_latency_against_the_paper(tmp_path):
    bench = {"backends": {"tflm": {"pipeline": {
        "stages": {k: {"median_ms": v} for k, v in (("frontend", 10.0), ("keyword", 1.0), ("acoustic", 2.0),
                                                   ("fusion", 0.5), ("total", 13.5))},
        "predicted": {"clip_ms": 24.5, "streaming_decision_ms": 4.0, "label": "predicted (analytic model)"}}}}}
    (tmp_path / "bench.json").write_text(json.dumps(bench))
    md = rpt.render_markdown([rpt.latency(tmp_path)], "t")
    assert "| host tflm | 10.00 | 1.00 | 2.00 | 0.50 | 13.50 |" in md
    assert "| PREDICTED Dev Board Micro, one clip from scratch | 24.5 | paper: 21–23 ms |" in md
    assert "| PREDICTED Dev Board Micro, streaming decision | 4.0 |  |" in md


def test_edgetpu_lists_cpu_ops_and_compiler_result(tmp_path):
    check = {"acoustic": {"mapped_count": 2, "cpu_count": 1, "fraction_mapped": 2 / 3, "first_unmapped": 2,
                          "ops": [{"name": "MUL", "on_cpu": False}, {"name": "ADD", "on_cpu": False},
                                  {"name": "GELU", "on_cpu": True}]}}
    compiled = {"log": {"version": "16.0", "success": True, "models": [
        {"input_model": "/x/acoustic_int8.tflite", "tpu_ops": 2, "total_ops": 3, "on_chip_used_bytes": 1000,
         "off_chip_used_bytes": 0}]}}
    (tmp_path / "check.json").write_text(json.dumps(check))
    (tmp_path / "compile.json").write_text(json.dumps(compiled))
    md = rpt.render_markdown([rpt.edgetpu(tmp_path)], "t")
    assert "| acoustic | 2/3 | 66.7 | 2 | GELU |" in md
    assert "| acoustic_int8.tflite | 2 | 3 | 1000 | 0 |" in md and "edgetpu_compiler 16.0 (succeeded)" in md


def test_bad_inputs_name_the_file(tmp_path):
    with pytest.raises(rpt.ReportError, match="no such run folder"):
        rpt.build_report(tmp_path / "missing")
    (tmp_path / "memory.json").write_text("{not json")
    with pytest.raises(rpt.ReportError, match=r"memory\.json: not valid JSON"):
        rpt.build_report(tmp_path)


def test_html_escapes_text(tmp_path):
    (tmp_path / "manifest.json").write_text(json.dumps({"recipe_name": "<b>x</b>", "recipe_sha256": "h", "stages": {}}))
    html_path, _ = rpt.build_report(tmp_path)
    text = html_path.read_text()
    assert "&lt;b&gt;x&lt;/b&gt;" in text and "<b>x</b>" not in text


def test_stage_order_matches_the_pipeline():
    from edgeser.pipeline import DEMO_STAGES

    assert rpt.STAGE_ORDER == tuple(s.name for s in DEMO_STAGES)


def test_command_prints_both_paths(tmp_path):
    app = typer.Typer()
    app.command()(rpt.report)
    result = CliRunner().invoke(app, [str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert result.output.split() == [str(tmp_path / "report.html"), str(tmp_path / "report.md")]
    assert CliRunner().invoke(app, [str(tmp_path / "nope")]).exit_code == 2


def test_a_commands_markdown_table_is_shown_as_a_table(tmp_path):
    from edgeser.report import TableBlock, markdown_tables

    (tmp_path / "noise.md").write_text("# ravdess under noise\n\n| condition | UAR |\n|---|---:|\n| clean | 0.305 |\n"
                                       "| white 0 dB | 0.125 |\n\ntext\n")
    assert markdown_tables(tmp_path / "noise.md") == [
        TableBlock(("condition", "UAR"), (("clean", "0.305"), ("white 0 dB", "0.125")), "ravdess under noise")
    ]
