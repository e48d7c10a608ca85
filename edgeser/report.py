"""The run report: ``RUN_DIR/report.html`` and ``RUN_DIR/report.md`` from whatever the run holds.

Every section is built by a pure function of the run folder (see :mod:`edgeser.pipeline`
for the file each stage writes) into a :class:`Section` of blocks (paragraphs, tables,
images); the HTML and Markdown renderers only lay the blocks out. A section whose files
are absent becomes a one-line "not run" note, so a half-finished run still gets a report.

The HTML is self-contained: inline CSS, no scripts or fonts from the network, images
referenced by their path relative to the run folder (the report lies in the folder, so
``<img src="confusion_acoustic.png">`` resolves when the folder is copied or served as
is). A small inline script records, once the page has loaded, how many images decoded:
``<body data-images-ok="N/M">`` (used by the headless-browser test). Both files are
written atomically.

    edgeser report RUN_DIR
"""

from __future__ import annotations

import html
import json
import re
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional, Sequence, Union

import typer

from edgeser.exits import BAD_INPUT

REPORT_HTML = "report.html"
REPORT_MD = "report.md"
PAPER_BUDGET_BYTES = 1_800_000  # Mitsis et al. 2025: the whole application on the board
GOAL_BYTES = 1_000_000  # edgeser's own goal
PAPER_LATENCY_MS = (21.0, 23.0)  # the paper's measured board latency per clip
MODELS = ("acoustic", "keyword", "fusion", "audio_only")
METRICS = (("wa", "WA"), ("ua", "UA"), ("macro_f1", "macro-F1"))
# The order of edgeser.pipeline.DEMO_STAGES (not imported: the pipeline module pulls in TensorFlow).
STAGE_ORDER = ("corpus", "features", "train_keyword", "train_acoustic", "train_fusion", "quantize", "check", "compile",
               "memory", "latency", "export", "evaluate", "bench")
GENERIC_ROWS = 40  # at most this many leaf values of an unknown JSON file


# -- blocks and sections ---------------------------------------------------------------
@dataclass(frozen=True)
class Paragraph:
    text: str


@dataclass(frozen=True)
class TableBlock:
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    caption: str = ""


@dataclass(frozen=True)
class Images:
    """Images as (path relative to the run folder, caption)."""

    items: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Bar:
    """A horizontal bar: ``value`` against ``limit`` (same unit), with marks at ``marks``."""

    label: str
    value: float
    limit: float
    unit: str
    marks: tuple[tuple[float, str], ...] = ()


Block = Union[Paragraph, TableBlock, Images, Bar]


@dataclass(frozen=True)
class Section:
    """One report section; ``ran`` is False when its inputs are absent (``blocks`` then hold the note)."""

    key: str
    title: str
    ran: bool
    blocks: tuple[Block, ...] = field(default_factory=tuple)


def not_run(key: str, title: str, what: str) -> Section:
    return Section(key, title, False, (Paragraph(f"Not run: {what}."),))


# -- reading the run folder -------------------------------------------------------------
class ReportError(ValueError):
    """The run folder cannot be reported on; the message names the file and the problem."""


class StaleResult(Exception):
    """A recorded result no longer describes the run (made by an earlier recipe or model)."""


def load_json(run_dir: Path, relpath: str) -> Any:
    """The parsed JSON at ``run_dir/relpath``, or None when absent; a clear error when unreadable.

    Raises :class:`StaleResult` when the manifest says the file was made by an earlier
    recipe or from models that have changed since (``rundir.stale_reason``).
    """
    from edgeser.rundir import MANIFEST, stale_reason

    path = Path(run_dir) / relpath
    if not path.is_file():
        return None
    if relpath != MANIFEST:
        manifest = load_json(run_dir, MANIFEST) or {}
        why = stale_reason(manifest, Path(relpath).as_posix()) if isinstance(manifest, dict) else None
        if why:
            raise StaleResult(why)
    try:
        return json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ReportError(f"{path}: not valid JSON ({exc})") from None


def images(run_dir: Path, pattern: str) -> tuple[tuple[str, str], ...]:
    """(relative path, caption) of the PNGs matching ``pattern`` under ``run_dir``, sorted."""
    run_dir = Path(run_dir)
    found = sorted(p for p in run_dir.glob(pattern) if p.is_file())
    return tuple((p.relative_to(run_dir).as_posix(), p.stem.replace("_", " ")) for p in found)


def pct(value: Optional[float]) -> str:
    return "—" if value is None else f"{100 * value:.1f}"


def flatten(obj: Any, prefix: str = "") -> list[tuple[str, str]]:
    """Leaf values of a JSON object as (dotted key, text); long lists are summarised."""
    if isinstance(obj, dict):
        out = []
        for key in sorted(obj):
            out += flatten(obj[key], f"{prefix}.{key}" if prefix else str(key))
        return out
    if isinstance(obj, list):
        if len(obj) <= 8 and all(not isinstance(v, (dict, list)) for v in obj):
            return [(prefix, ", ".join(_fmt(v) for v in obj))]
        return [(prefix, f"[{len(obj)} items]")]
    return [(prefix, _fmt(obj))]


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return "—" if value is None else str(value)


def markdown_tables(path: Path) -> list[TableBlock]:
    """The pipe tables of a markdown file (as the noise and cross-corpus commands write them),
    each captioned with the heading above it."""
    tables: list[TableBlock] = []
    caption, rows = "", []
    for line in path.read_text().splitlines() + [""]:
        if line.startswith("|"):
            cells = tuple(c.strip() for c in line.strip().strip("|").split("|"))
            if not all(set(c) <= set(":-") for c in cells):  # skip the |---|---:| rule
                rows.append(cells)
            continue
        if rows:
            tables.append(TableBlock(rows[0], tuple(rows[1:]), caption))
            rows = []
        if line.startswith("#"):
            caption = line.lstrip("#").strip()
    return tables


def generic_json(run_dir: Path, relpath: str) -> list[Block]:
    """A table of the leaf values of any JSON file (at most ``GENERIC_ROWS`` rows)."""
    data = load_json(run_dir, relpath)
    rows = flatten(data)
    blocks: list[Block] = [TableBlock(("key", "value"), tuple(rows[:GENERIC_ROWS]), f"{relpath}")]
    if len(rows) > GENERIC_ROWS:
        blocks.append(Paragraph(f"… {len(rows) - GENERIC_ROWS} more values in {relpath}."))
    return blocks


# -- sections ----------------------------------------------------------------------------
def _stage_rank(name: str) -> int:
    """Position of a stage in the demo pipeline (unknown stages after the known ones, by finish time)."""
    return STAGE_ORDER.index(name) if name in STAGE_ORDER else len(STAGE_ORDER)


def run_summary(run_dir: Path) -> Section:
    """Recipe name and hash, the run folder, the time of each stage (manifest.json)."""
    manifest = load_json(run_dir, "manifest.json")
    title = "Run summary"
    if manifest is None:
        return not_run("summary", title, "no manifest.json in the run folder (no stage has finished)")
    recipe_hash = manifest.get("recipe_sha256", "")
    stages = manifest.get("stages", {})
    rows = []
    total = 0.0
    for name, info in sorted(stages.items(), key=lambda kv: (_stage_rank(kv[0]), kv[1].get("finished_at", ""))):
        stale = info.get("recipe_sha256") not in (None, recipe_hash)
        total += 0.0 if stale else float(info.get("seconds", 0.0))
        rows.append((name, f"{info.get('seconds', 0.0):.1f}", info.get("finished_at", ""), "stale (older recipe)" if stale else ""))
    rows.append(("all stages", f"{total:.1f}", "", "goal: < 15 min on 2 cores"))
    facts = TableBlock(("item", "value"), (
        ("recipe", str(manifest.get("recipe_name", "—"))),
        ("recipe sha256", recipe_hash or "—"),
        ("run folder", Path(run_dir).name),
        ("files recorded", str(len(manifest.get("files", {})))),
    ))
    return Section("summary", title, True, (facts, TableBlock(("stage", "seconds", "finished at", "note"), tuple(rows), "stage times")))


def results(run_dir: Path) -> Section:
    """WA / UA / macro-F1 per model, float (train_metrics.json) vs int8 (evaluate.json), and quantize_report.json."""
    title = "Results"
    floats = (load_json(run_dir, "train_metrics.json") or {}).get("scores", {})
    int8 = (load_json(run_dir, "evaluate.json") or {}).get("scores", {})
    quant = (load_json(run_dir, "quantize_report.json") or {}).get("models", {})
    if not (floats or int8 or quant):
        return not_run("results", title, "no train_metrics.json, evaluate.json or quantize_report.json")
    blocks: list[Block] = []
    if floats or int8:
        header = ("model", *[f"float {m}" for _, m in METRICS], *[f"int8 {m}" for _, m in METRICS])
        rows = []
        for name in [m for m in MODELS if m in floats or m in int8] + sorted((set(floats) | set(int8)) - set(MODELS)):
            f, q = floats.get(name, {}), int8.get(name, {})
            rows.append((name, *[pct(f.get(k)) for k, _ in METRICS], *[pct(q.get(k)) for k, _ in METRICS]))
        blocks.append(TableBlock(header, tuple(rows), "test split, % (float: Keras; int8: TFLite-Micro)"))
    if not floats:
        blocks.append(Paragraph("Float scores: not run (no train_metrics.json)."))
    if not int8:
        blocks.append(Paragraph("int8 scores: not run (no evaluate.json)."))
    if quant:
        rows = []
        for name, r in quant.items():
            delta = 100 * (r["int8_macro_f1"] - r["float_macro_f1"])
            rows.append((name, pct(r["float_macro_f1"]), pct(r["int8_macro_f1"]), f"{delta:+.2f}",
                         pct(r.get("argmax_agreement")), str(r.get("n", "—"))))
        blocks.append(TableBlock(("model", "float macro-F1", "int8 macro-F1", "Δ points", "argmax agreement %", "clips"),
                                 tuple(rows), "quantisation (quantize_report.json; goal: loss ≤ 0.5 points)"))
    return Section("results", title, True, tuple(blocks))


def image_section(key: str, title: str, run_dir: Path, pattern: str, what: str) -> Section:
    found = images(run_dir, pattern)
    return Section(key, title, True, (Images(found),)) if found else not_run(key, title, what)


def confusion(run_dir: Path) -> Section:
    return image_section("confusion", "Confusion matrices", run_dir, "confusion_*.png", "no confusion_*.png (evaluate stage)")


def curves(run_dir: Path) -> Section:
    return image_section("curves", "Training curves", run_dir, "curves_*.png", "no curves_*.png (training stages)")


def optional_section(key: str, title: str, run_dir: Path, json_globs: Sequence[str], png_globs: Sequence[str], what: str) -> Section:
    """A later addition (noise, cross-corpus, explain): its JSON files as tables, its PNGs as images."""
    run_dir = Path(run_dir)
    jsons = sorted({p.relative_to(run_dir).as_posix() for g in json_globs for p in run_dir.glob(g) if p.is_file()})
    pngs = tuple(sorted({item for g in png_globs for item in images(run_dir, g)}))
    if not jsons and not pngs:
        return not_run(key, title, what)
    blocks: list[Block] = []
    for rel in jsons:  # the command's own markdown table where it wrote one, else the JSON's values
        table = (run_dir / rel).with_suffix(".md")
        blocks += (markdown_tables(table) if table.is_file() else []) or generic_json(run_dir, rel)
    if pngs:
        blocks.append(Images(pngs))
    return Section(key, title, True, tuple(blocks))


def noise(run_dir: Path) -> Section:
    return optional_section("noise", "Noise robustness", run_dir, ["noise/*.json"], ["noise/*.png"],
                            "no noise/*.json (the noise-robustness evaluation)")


def cross_corpus(run_dir: Path) -> Section:
    return optional_section("cross_corpus", "Cross-corpus", run_dir, ["cross_corpus*/**/*.json", "cross_corpus*.json"],
                            ["cross_corpus*/**/*.png", "cross_corpus*.png"], "no cross_corpus* results")


def explain(run_dir: Path) -> Section:
    return optional_section("explain", "Explainability", run_dir, ["explain/**/*.json"], ["explain/**/*.png"], "no explain/ folder")


def baseline(run_dir: Path) -> Section:
    """baseline.json of ``edgeser baseline`` (openSMILE functionals + LR / MLP)."""
    title = "Classical baseline (openSMILE functionals)"
    data = load_json(run_dir, "baseline.json")
    if data is None:
        return not_run("baseline", title, "no baseline.json (edgeser baseline … --json RUN/baseline.json)")
    summary = data.get("summary")
    if not isinstance(summary, dict) or not all(isinstance(v, dict) and "ua" in v for v in summary.values()):
        return Section("baseline", title, True, tuple(generic_json(run_dir, "baseline.json")))
    rows = tuple((kind.upper(), *[f"{pct(v[k]['mean'])} ± {pct(v[k]['std'])}" for k, _ in METRICS]) for kind, v in summary.items())
    caption = (f"{data.get('corpus', '?')}, {data.get('feature_set', '?')}, {len(data.get('folds', []))} "
               f"leave-speakers-out folds, mean ± std %")
    return Section("baseline", title, True, (TableBlock(("classifier", *[m for _, m in METRICS]), rows, caption),))


def edgetpu(run_dir: Path) -> Section:
    """Predicted mapping (check.json) and, when Coral's compiler ran, its result (compile.json)."""
    title = "Edge TPU mapping"
    check = load_json(run_dir, "check.json")
    compiled = load_json(run_dir, "compile.json")
    if check is None and compiled is None:
        return not_run("edgetpu", title, "no check.json or compile.json")
    blocks: list[Block] = []
    if check is not None:
        rows = []
        for name, r in check.items():
            total = r["mapped_count"] + r["cpu_count"]
            cpu = sorted({op["name"] for op in r.get("ops", []) if op.get("on_cpu")})
            first = r.get("first_unmapped")
            rows.append((name, f"{r['mapped_count']}/{total}", pct(r.get("fraction_mapped")),
                         "—" if first is None else str(first), ", ".join(cpu) or "none"))
        blocks.append(TableBlock(("model", "ops mapped", "% mapped", "first unmapped op", "ops on the CPU"), tuple(rows),
                                 "predicted by edgeser check (goal: 100 %)"))
    else:
        blocks.append(Paragraph("Predicted mapping: not run (no check.json)."))
    log = (compiled or {}).get("log") or {}
    if log.get("models"):
        rows = tuple((Path(m.get("input_model", "?")).name, _fmt(m.get("tpu_ops")), _fmt(m.get("total_ops")),
                      _fmt(m.get("on_chip_used_bytes")), _fmt(m.get("off_chip_used_bytes"))) for m in log["models"])
        blocks.append(TableBlock(("model", "Edge TPU ops", "total ops", "on-chip bytes", "off-chip bytes"), rows,
                                 f"edgetpu_compiler {log.get('version') or ''} ({'succeeded' if log.get('success') else 'failed'})"))
    else:
        blocks.append(Paragraph("edgetpu_compiler: not run (no compile.json; the compiler was not installed)."))
    return Section("edgetpu", title, True, tuple(blocks))


def memory(run_dir: Path) -> Section:
    """Flash + TFLite-Micro arena per model against the paper's 1.8 MB budget and the 1.0 MB goal."""
    title = "Memory vs budget"
    m = load_json(run_dir, "memory.json")
    if m is None:
        return not_run("memory", title, "no memory.json")
    budget, goal = m.get("budget_bytes", PAPER_BUDGET_BYTES), m.get("goal_bytes", GOAL_BYTES)
    rows = [(name, f"{v['flash_bytes'] / 1024:.1f}", f"{v['arena_bytes'] / 1024:.1f}",
             f"{(v['flash_bytes'] + v['arena_bytes']) / 1024:.1f}") for name, v in m.get("models", {}).items()]
    rows.append(("frontend working memory", "—", "—", f"{m.get('frontend_bytes', 0) / 1024:.1f}"))
    if m.get("speaker_norm_bytes"):  # fusion.input_norm: speaker (statistics in RAM, prior in flash)
        rows.append(("speaker statistics + prior", "—", "—", f"{m['speaker_norm_bytes'] / 1024:.1f}"))
    total = m["total_bytes"]
    verdict = "over the paper budget" if total > budget else ("over the goal" if total > goal else "within the goal")
    blocks: list[Block] = [
        TableBlock(("part", "flash KiB", "arena KiB", "total KiB"), tuple(rows)),
        Paragraph(f"Total {total / 1e6:.3f} MB: {verdict} (paper budget {budget / 1e6:.1f} MB, goal {goal / 1e6:.1f} MB)."),
        Bar("total memory", total / 1e6, max(budget, total) / 1e6 * 1.05, "MB",
            ((goal / 1e6, "goal"), (budget / 1e6, "paper budget"))),
    ]
    blocks += [Paragraph(note) for note in m.get("notes", [])]
    link = load_json(run_dir, "link_map.json")
    if link is not None:
        rows = tuple(
            (name, f"{u['used'] / 1024:.1f}", f"{u['size'] / 1024:.1f}", f"{u['free'] / 1024:.1f}",
             ", ".join(f"{n} {b / 1024:.1f}" for n, b in sorted(u["sections"].items(), key=lambda kv: -kv[1])[:3]))
            for name, u in link.get("memories", {}).items()
        )
        blocks.append(TableBlock(("memory", "used KiB", "size KiB", "free KiB", "largest sections (KiB)"), rows,
                                 "the board app as linked (`make firmware`), from the linker's map"))
    else:
        blocks.append(Paragraph("Board link: not built (`make firmware` records the linker's figures per memory)."))
    return Section("memory", title, True, tuple(blocks))


def latency(run_dir: Path) -> Section:
    """Predicted board latency against the recipe's budget (latency.json) and the paper's 21–23 ms;
    host latency per backend and stage (bench.json)."""
    title = "Latency"
    bench = load_json(run_dir, "bench.json")
    checked = load_json(run_dir, "latency.json")
    if bench is None and checked is None:
        return not_run("latency", title, "no latency.json or bench.json")
    rows, predicted = [], (checked or {}).get("predicted")
    for backend, sub in (bench or {}).get("backends", {}).items():
        pipe = (sub or {}).get("pipeline") or {}
        stages = pipe.get("stages") or {}
        if stages:
            rows.append((f"host {backend}", *[f"{stages[k]['median_ms']:.2f}" if k in stages else "—"
                                                for k in ("frontend", "keyword", "acoustic", "fusion", "total")]))
        predicted = predicted or pipe.get("predicted")
    blocks: list[Block] = []
    if rows:
        blocks.append(TableBlock(("backend", "frontend", "keyword", "acoustic", "fusion", "total"), tuple(rows),
                                 "median ms per clip on this machine"))
    if predicted and "clip_ms" in predicted:
        lo, hi = PAPER_LATENCY_MS
        clip, decision = predicted["clip_ms"], predicted.get("streaming_decision_ms", float("nan"))
        budget = (checked or {}).get("budget_ms")
        verdict = "" if budget is None else ("OVER the budget" if decision > budget else "within the budget")
        blocks.append(TableBlock(("what", "ms", "reference"), (
            ("PREDICTED Dev Board Micro, streaming decision", f"{decision:.1f}",
             f"budget {budget:g} ms: {verdict}" if budget is not None else ""),
            ("PREDICTED Dev Board Micro, one clip from scratch", f"{clip:.1f}", f"paper: {lo:.0f}–{hi:.0f} ms"),
        ), str(predicted.get("label", "predicted"))))
        marks = ((lo, "paper (low)"), (hi, "paper (high)")) + (((budget, "budget"),) if budget is not None else ())
        top = max([hi, clip] + ([budget] if budget is not None else []))
        blocks.append(Bar("predicted board latency, one clip", clip, top * 1.2, "ms", marks))
    else:
        blocks.append(Paragraph("Predicted board latency: not run (no latency.json, and bench.json has no prediction)."))
    return Section("latency", title, True, tuple(blocks))


def search(run_dir: Path) -> Section:
    """``edgeser tune … --out RUN/tune``: the trials table and the Pareto plot."""
    return optional_section("search", "Recipe search", run_dir, ["tune/trials.json"], ["tune/pareto.png"],
                            "no tune/ folder (edgeser tune … --out RUN/tune)")


SECTIONS: tuple[Callable[[Path], Section], ...] = (
    run_summary, results, confusion, curves, noise, cross_corpus, explain, baseline, edgetpu, memory, latency, search,
)


def sections(run_dir: Path) -> list[Section]:
    """Every section of the report of ``run_dir``, in order."""
    out = []
    for build in SECTIONS:
        try:
            out.append(build(Path(run_dir)))
        except StaleResult as exc:
            name = build.__name__
            out.append(Section(name, name.replace("_", " ").capitalize(), False,
                               (Paragraph(f"Stale, not shown: {exc}; run the command that made it again."),)))
    return out


# -- rendering ---------------------------------------------------------------------------
CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
h1{border-bottom:2px solid #246;padding-bottom:.2em}h2{color:#246;margin-top:1.6em;border-bottom:1px solid #ccd}
table{border-collapse:collapse;margin:.6em 0 1em;font-size:.92em}caption{text-align:left;color:#555;padding:.2em 0}
th,td{border:1px solid #ccd;padding:.25em .6em;text-align:left}th{background:#eef2f8}td.num{text-align:right}.notrun{color:#777;font-style:italic}
figure{display:inline-block;margin:.4em;vertical-align:top}figure img{max-width:480px;border:1px solid #ddd}
figcaption{text-align:center;color:#555;font-size:.9em}nav a{margin-right:.8em}
.bar{position:relative;height:1.4em;background:#eef2f8;border:1px solid #ccd;margin:.4em 0 1.6em;max-width:700px}
.bar .fill{position:absolute;top:0;left:0;bottom:0;background:#4a7}.bar .mark{position:absolute;top:-.3em;bottom:-.3em;border-left:2px solid #c33}
.bar .mark span{position:absolute;top:1.7em;font-size:.75em;color:#c33;white-space:nowrap}.bar .label{position:absolute;left:.4em;font-size:.85em}
""".strip()

SCRIPT = """
window.addEventListener("load", function () {
  var imgs = Array.prototype.slice.call(document.images);
  var ok = imgs.filter(function (i) { return i.complete && i.naturalWidth > 0; });
  document.body.dataset.imagesOk = ok.length + "/" + imgs.length;
  document.body.dataset.imagesBroken = imgs.filter(function (i) { return ok.indexOf(i) < 0; })
    .map(function (i) { return i.getAttribute("src"); }).join(" ");
});
""".strip()


def _e(text: str) -> str:
    return html.escape(str(text), quote=True)


NUMBER = re.compile(r"^[-+]?[\d.,]+( ± [\d.,]+)?$|^\d+/\d+$|^—$")


def _html_cell(text: str) -> str:
    """A table cell; numbers are right-aligned, text left-aligned."""
    return f'<td class="num">{_e(text)}</td>' if NUMBER.match(str(text)) else f"<td>{_e(text)}</td>"


def _html_block(block: Block) -> str:
    if isinstance(block, Paragraph):
        return f"<p>{_e(block.text)}</p>"
    if isinstance(block, TableBlock):
        caption = f"<caption>{_e(block.caption)}</caption>" if block.caption else ""
        head = "".join(f"<th>{_e(h)}</th>" for h in block.header)
        body = "".join("<tr>" + "".join(_html_cell(c) for c in row) + "</tr>" for row in block.rows)
        return f"<table>{caption}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
    if isinstance(block, Images):
        return "".join(f'<figure><img src="{_e(src)}" alt="{_e(cap)}"><figcaption>{_e(cap)}</figcaption></figure>'
                       for src, cap in block.items)
    if isinstance(block, Bar):
        width = 100 * min(block.value / block.limit, 1.0) if block.limit else 0
        marks = "".join(f'<div class="mark" style="left:{100 * v / block.limit:.2f}%"><span>{_e(t)}</span></div>'
                        for v, t in block.marks if block.limit and v <= block.limit)
        return (f'<div class="bar" title="{_e(block.label)}: {block.value:.3g} {_e(block.unit)}"><div class="fill" style="width:{width:.2f}%"></div>'
                f'{marks}<span class="label">{_e(block.label)} {block.value:.3g} {_e(block.unit)}</span></div>')
    raise TypeError(f"unknown report block {block!r}")


def render_html(secs: Sequence[Section], title: str) -> str:
    """The self-contained HTML page of ``secs`` (inline CSS and script, relative image paths)."""
    nav = " ".join(f'<a href="#{s.key}">{_e(s.title)}</a>' for s in secs)
    parts = [f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{_e(title)}</title>',
             f"<style>{CSS}</style><script>{SCRIPT}</script></head><body>",
             f"<h1>{_e(title)}</h1><nav>{nav}</nav>"]
    for s in secs:
        css = "" if s.ran else ' class="notrun"'
        parts.append(f'<section id="{_e(s.key)}"{css}><h2>{_e(s.title)}</h2>' + "".join(_html_block(b) for b in s.blocks) + "</section>")
    parts.append("</body></html>\n")
    return "\n".join(parts)


_MD_SPECIAL = re.compile(r"([\\`*\[\]|])")


def _md_text(text: str) -> str:
    """Prose for Markdown: HTML-significant characters as entities (a name like
    ``<img onerror=…>`` shows as text, never as markup), newlines kept."""
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _md_cell(text: str) -> str:
    """A table cell: :func:`_md_text`, Markdown's own specials backslash-escaped, one line."""
    return _MD_SPECIAL.sub(r"\\\1", _md_text(text)).replace("\r", " ").replace("\n", " ")


def _md_block(block: Block) -> str:
    if isinstance(block, Paragraph):
        return _md_text(block.text)
    if isinstance(block, TableBlock):
        lines = [f"*{_md_cell(block.caption)}*", ""] if block.caption else []
        lines.append("| " + " | ".join(_md_cell(h) for h in block.header) + " |")
        lines.append("|" + "|".join("---" for _ in block.header) + "|")
        lines += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in block.rows]
        return "\n".join(lines)
    if isinstance(block, Images):
        return "\n".join(f"![{_md_cell(cap)}]({urllib.parse.quote(src)})" for src, cap in block.items)
    if isinstance(block, Bar):
        marks = ", ".join(f"{t} {v:.3g} {block.unit}" for v, t in block.marks)
        return _md_text(f"{block.label}: {block.value:.3g} {block.unit} ({marks})")
    raise TypeError(f"unknown report block {block!r}")


def render_markdown(secs: Sequence[Section], title: str) -> str:
    """The same report as Markdown (images as relative links)."""
    parts = [f"# {_md_cell(title)}"]
    for s in secs:
        parts.append(f"## {_md_cell(s.title)}")
        parts += [_md_block(b) for b in s.blocks]
    return "\n\n".join(parts) + "\n"


def report_title(run_dir: Path) -> str:
    manifest = load_json(run_dir, "manifest.json") or {}
    name = manifest.get("recipe_name") or Path(run_dir).name
    return f"edgeser run report — {name}"


def build_report(run_dir: Path) -> tuple[Path, Path]:
    """Write ``run_dir/report.html`` and ``run_dir/report.md`` (atomically); returns their paths."""
    from edgeser.atomic import write_text

    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise ReportError(f"{run_dir}: no such run folder")
    secs = sections(run_dir)
    title = report_title(run_dir)
    html_path = write_text(run_dir / REPORT_HTML, render_html(secs, title))
    md_path = write_text(run_dir / REPORT_MD, render_markdown(secs, title))
    return html_path, md_path


def report(run_dir: Path = typer.Argument(..., help="A run folder (runs/<name>/).")) -> None:
    """Render RUN_DIR/report.html and RUN_DIR/report.md from whatever the run folder holds."""
    from rich.console import Console

    try:
        html_path, md_path = build_report(run_dir)
    except ReportError as exc:
        Console(stderr=True).print(f"[red]error:[/red] {exc}")
        raise typer.Exit(BAD_INPUT)
    print(html_path)
    print(md_path)
