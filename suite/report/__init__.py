"""`gvbench report DIR`: figures, summary tables, report.md and a self-contained report.html."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from architectures import FAMILIES, get_spec
from suite.choices import BACKENDS, COMPLETED
from suite.files import atomic_write
from suite.report import figures, lockstep, quality, replicates, speed, tables, target
from suite.report.data import expected, latest, load, load_evaluations, load_steps, model_order
from suite.report.page import (
    Block,
    Bullets,
    Contents,
    Details,
    Figure,
    Heading,
    Table,
    Text,
    number,
    to_html,
    to_markdown,
)

PROVENANCE_COLUMNS = [
    "backend_version",
    "keras_version",
    "python_version",
    "numpy_version",
    "threads",
    "parallel_cells",
    "jit_compile",
    "cpu_model",
    "cpu_count",
    "hostname",
    "platform",
    "git_commit",
]


def _joined(values: pd.Series) -> str:
    return ", ".join(sorted({str(v) for v in values.dropna()}))


def provenance(chosen: pd.DataFrame) -> pd.DataFrame:
    """Per backend: the machines, versions, threads and commits behind its numbers."""
    rows = []
    for backend, group in chosen.groupby("backend"):
        row = {"backend": backend, "profiles": _joined(group.profile), "runs": group.run_id.nunique()}
        row |= {column: _joined(group[column]) for column in PROVENANCE_COLUMNS}
        row["started"] = f"{group.started_at.min()} .. {group.started_at.max()}"
        rows.append(row)
    frame = pd.DataFrame(rows)
    frame["_order"] = frame.backend.map(BACKENDS.index)
    return frame.sort_values("_order").drop(columns="_order")


def interval(low: float, high: float, digits: str = ".3g") -> str:
    """`95% CI a–b`, or a note that there were too few epochs for one."""
    if np.isnan(low):
        return "no CI: fewer than 2 steady epochs"
    return f"95% CI {number(low, digits)}–{number(high, digits)}"


def slower_text(row) -> str:
    """`torch 1.60× slower (95% CI 1.41–1.83)`, or that the difference is within the noise."""
    text = f"{row.backend} {row.ratio_to_fastest:.2f}×"
    if np.isnan(row.ratio_ci_low):
        return f"{text} slower (no CI: fewer than 2 steady epochs)"
    ci = interval(row.ratio_ci_low, row.ratio_ci_high, ".2f")
    if row.ratio_ci_low <= 1:
        return f"{text} ({ci}: not told apart from the fastest)"
    return f"{text} slower ({ci})"


def fastest_lines(summary: pd.DataFrame) -> list[str]:
    lines = []
    for model, group in summary.dropna(subset=["steady_epoch_median_s"]).groupby("model", sort=False):
        ranked = group.sort_values("steady_epoch_median_s")
        best = ranked.iloc[0]
        others = ", ".join(slower_text(r) for r in ranked.iloc[1:].itertuples())
        ci = interval(best.steady_epoch_ci_low_s, best.steady_epoch_ci_high_s)
        line = f"{model}: {best.backend} is fastest ({number(best.steady_epoch_median_s)} s/epoch, {ci})"
        lines.append(line + (f"; {others}" if others else "; no other backend has a timing"))
    return lines


def compile_lines(summary: pd.DataFrame) -> list[str]:
    lines = []
    timed = summary.dropna(subset=["first_epoch_s", "steady_epoch_median_s"])
    for backend in BACKENDS:
        group = timed[timed.backend == backend]
        if group.empty:
            continue
        ratio = (group.first_epoch_s / group.steady_epoch_median_s).median()
        excess = group.compile_overhead_s.median()
        lines.append(
            f"{backend}: epoch 1 takes {number(abs(excess))} s {'more' if excess >= 0 else 'less'} than a steady "
            f"epoch (median over {len(group)} models; {ratio:.3g}× a steady epoch; "
            f"range {group.compile_overhead_s.min():+.3g} .. {group.compile_overhead_s.max():+.3g} s)"
        )
    return lines


def cost_text(cost: pd.DataFrame) -> str:
    """Per backend: estimated cell-hours of the paper grid (5 models × 3 learning rates)."""
    totals = cost.groupby("backend", sort=False).paper_model_cell_h.sum()
    parts = ", ".join(f"{backend} {hours:.3g}" for backend, hours in totals.items())
    return (
        "Estimated from this profile's steady-state seconds per step, scaled to 50 epochs × 469 steps, plus the "
        "measured first-epoch excess and time outside epochs (`paper-cost.csv`). Cell-hours of the whole grid "
        f"(every model × 3 learning rates) per backend: {parts}. With one cell per node, N nodes need about "
        "max(longest cell, total ÷ N)."
    )


def _samples(root: Path, row: pd.Series) -> dict | None:
    if row.status not in COMPLETED or pd.isna(row.samples_file):
        return None
    try:
        with np.load(root / row.source / row.samples_file) as arrays:
            return {name: arrays[name] for name in arrays.files}
    except (OSError, ValueError, KeyError):
        return None


def sample_figures(root: Path, grid: pd.DataFrame, folder: Path, profile: str) -> list[list[Figure]]:
    """Per learning rate, highest first: generated samples (models × backends) and VAE reconstructions."""
    found = []
    seed = grid.seed.min()
    for lr in sorted(grid.lr.unique(), reverse=True):
        cells = grid[(grid.lr == lr) & (grid.seed == seed)]
        at_lr = []
        for family in FAMILIES.values():
            labels = [m for m in model_order(cells.label) if get_spec(m.split(" ")[0]).family == family]
            if not labels:
                continue
            panels, notes, inputs, recon = {}, {}, {}, {}
            for row in cells[cells.label.isin(labels)].itertuples():
                arrays = _samples(root, pd.Series(row._asdict()))
                if arrays is None:
                    notes[(row.label, row.backend)] = row.status if row.status not in COMPLETED else "no samples file"
                    continue
                panels[(row.label, row.backend)] = arrays["generated"]
                if "inputs" in arrays:
                    inputs[row.label] = arrays["inputs"]
                    recon[(row.label, row.backend)] = arrays["reconstructed"]
            lr_text = tables.lr_label(lr)
            title = f"{family.name.upper()} samples, lr {lr_text}, profile {profile} (same noise on every backend)"
            fig = figures.image_grid(title, labels, list(BACKENDS), panels, notes)
            name = f"samples-{family.name}-lr{lr_text}"
            at_lr.append(Figure(figures.save(fig, folder, name, figures.SAMPLES_DPI), title))
            if family.reconstructs:
                panels = {(m, "input"): images for m, images in inputs.items()}
                panels |= recon
                title = f"VAE reconstructions of the first test images, lr {lr_text}, profile {profile}"
                fig = figures.image_grid(title, labels, ["input", *BACKENDS], panels, notes)
                name = f"reconstructions-lr{lr_text}"
                at_lr.append(Figure(figures.save(fig, folder, name, figures.SAMPLES_DPI), title))
        found.append(at_lr)
    return found


def samples_blocks(root: Path, grid: pd.DataFrame, folder: Path, profile: str) -> list[Block]:
    """The highest learning rate's sample grids on the page; the other learning rates' folded away."""
    per_lr = sample_figures(root, grid, folder, profile)
    if not per_lr:
        return []
    lrs = [tables.lr_label(lr) for lr in sorted(grid.lr.unique(), reverse=True)]
    blocks: list[Block] = [Heading("Samples", 3), *per_lr[0]]
    blocks += [
        Details(f"Samples at lr {lr} ({len(shown)} grids)", shown)
        for lr, shown in zip(lrs[1:], per_lr[1:], strict=True)
    ]
    return blocks


def side_by_side(chosen: pd.DataFrame) -> list[Block]:
    """A warning where cells ran beside other cells: their times are not those of a machine to themselves."""
    at_once = pd.to_numeric(chosen.parallel_cells, errors="coerce").fillna(1)
    if not (at_once > 1).any():
        return []
    return [
        Text(
            f"{(at_once > 1).sum()} of {len(chosen)} cells ran up to {int(at_once.max())} at once, each given "
            "CPUs of its own (`parallel_cells`): they shared the machine's memory bandwidth and caches, so their "
            "times check that everything runs; compare them only with cells run the same way, not with cells "
            "that had the machine to themselves."
        )
    ]


def glance(
    summary: pd.DataFrame,
    effects: pd.DataFrame,
    grid: pd.DataFrame,
    apart: list[str],
    to_target: list[str] = (),
    caveats: list[Block] = (),
) -> list[Block]:
    blocks: list[Block] = [Heading("At a glance", 3), *caveats]
    if to_target:
        blocks += [Text("Time to target (training seconds to readable digits of every kind):"), Bullets(to_target)]
    blocks.append(Text("Which backend is fastest for each model, and by how much:"))
    blocks.append(Bullets(fastest_lines(summary) or ["no model has a steady-state timing"]))
    blocks += [Text("What tracing/compiling costs (first epoch against steady state):")]
    blocks.append(Bullets(compile_lines(summary) or ["no backend has a first and a steady epoch"]))
    blocks += [
        Text(
            "Whether the backends learn alike: each final loss and quality metric, backends against the spread "
            "between seeds (each backend draws its own weights, data order and noise from the seed):"
        ),
        Bullets(replicates.glance_lines(effects)),
    ]
    if apart:
        blocks += [
            Text("In lockstep (every backend from the same weights, data order and noise), when their runs part:"),
            Bullets(apart),
        ]
    not_ok = grid[~grid.status.isin(COMPLETED)]
    if len(not_ok):
        shown = not_ok[["backend", "label", "lr", "seed", "status", "diverged_epoch", "error"]].rename(
            columns={"label": "model"}
        )
        shown = shown.assign(error=shown.error.astype(object).fillna("").map(lambda e: e.splitlines()[0] if e else ""))
        blocks += [Text(f"Cells not ok: {len(not_ok)} of {len(grid)} cells of the grid."), Table(shown)]
    return blocks


SUMMARY_TEXT = (
    "Per model and backend: median of steady-state epoch seconds (epochs 2..N of every ok cell) with its 95% "
    "bootstrap interval, and IQR; ratio to the fastest backend with its 95% bootstrap interval (none for the fastest "
    "itself); median first-epoch seconds and its excess over steady state; median training images per second; the "
    "memory training adds to its process; each learning rate's status. `summary.csv` also holds the final losses."
)


def speed_blocks(summary: pd.DataFrame, chosen: pd.DataFrame, profile: str, folder: Path) -> list[Block]:
    blocks: list[Block] = [Heading("Speed", 3)]
    blocks.append(Figure(figures.save(figures.headline(summary), folder, "headline"), "Steady-state epoch time"))
    table = Table(summary[["model", "backend", *tables.TIMING_COLUMNS]])
    blocks.append(
        Details(f"The numbers behind it, and every timing column ({len(summary)} rows)", [Text(SUMMARY_TEXT), table])
    )
    fig = figures.first_epoch_excess(summary)
    blocks.append(Figure(figures.save(fig, folder, "first-epoch-excess"), "First epoch minus steady-state epoch"))
    return blocks + speed.section(chosen, profile, folder)


def learning_blocks(frame, losses, agreement, long, effects, grid, folder) -> list[Block]:
    blocks: list[Block] = [Heading("Do the backends learn alike?", 3)]
    blocks.append(
        Text(
            "Each final loss and quality metric, tested across backends with seeds as replicates (Kruskal–Wallis "
            f"H test, scipy; a backend effect when p < {replicates.ALPHA:g}; with 3 seeds per backend the smallest "
            "p it can give is 0.027, when no seed of one backend overlaps another's). ε² (H ÷ (n − 1), 0..1): "
            "the share of the values' rank variance the backend explains. Lockstep cells, where each seed is one "
            "start shared by every backend, are compared within each seed instead (Friedman's test, its p exact "
            "over the backends' orderings within the seeds; with 3 seeds and 3 backends the smallest is 0.028, "
            "when every seed ranks the backends alike); Kendall's W (0..1) says how alike the seeds rank them. "
            "The ratio of the highest backend median to the lowest carries a 95% bootstrap interval (seeds "
            "resampled within each backend; lockstep: whole seeds resampled). With one seed per backend the "
            "question is undecided."
        )
    )
    fig = figures.replicates(long)
    blocks.append(Figure(figures.save(fig, folder, "replicates"), "Final loss per backend and seed"))
    if len(effects):
        shown = replicates.table(effects)
        blocks.append(Details(f"Every measure's test ({len(shown)} rows, also in `replicates.csv`)", [Table(shown)]))
    fig = figures.loss_curves(frame)
    blocks.append(Figure(figures.save(fig, folder, "loss-curves"), "Loss per epoch, per model, loss and learning rate"))
    fig = figures.final_loss_heatmaps(losses, grid)
    blocks.append(Figure(figures.save(fig, folder, "final-loss"), "Final loss per model, learning rate and backend"))
    compared = agreement[agreement.backends > 1] if len(agreement) else agreement
    if len(compared):
        spread = compared.assign(lr=compared.lr.map(tables.lr_label), percent=100 * compared.relative_spread)
        wide = spread.pivot_table(index=["model", "loss"], columns="lr", values="percent", sort=False)
        wide = wide.reindex(columns=sorted(wide.columns, key=float, reverse=True)).reset_index()
        blocks += [
            Text(
                "How far apart the backends' final losses are: (largest − smallest) ÷ mean, in %, per learning rate "
                "(the values are in the heatmap, the spreads in `agreement.csv`):"
            ),
            Table(wide, ".3g"),
        ]
    return blocks


LOCKSTEP_TEXT = (
    "Cells run with `--lockstep` start every backend from the same weights (NumPy, from the seed) and feed each the "
    "same data order and per-step noise, so only floating-point arithmetic separates them. Below: the spread of "
    "the backends' loss at each recorded step ((largest − smallest) ÷ mean of the single step's loss; every step "
    "up to 100, then evenly spaced), when it first passes {parted:g}%, and how far apart the final weights are "
    "(largest pairwise ‖a − b‖ ÷ ‖b‖ over every weight) beside how far training moved them from the start "
    "(‖final − initial‖ ÷ ‖initial‖). Their timings include a loss fetch every step and are shown under their own "
    "label."
)


def lockstep_blocks(div: pd.DataFrame, shown: pd.DataFrame, qualities: pd.DataFrame, folder: Path) -> list[Block]:
    if not len(shown):
        return []
    blocks: list[Block] = [Heading("In lockstep: when do the backends' runs part?", 3)]
    blocks.append(Text(LOCKSTEP_TEXT.format(parted=100 * lockstep.PARTED)))
    fig = figures.divergence(div, lockstep.PARTED, lockstep.FLOOR)
    blocks.append(Figure(figures.save(fig, folder, "lockstep-divergence"), "Spread of the backends' loss per step"))
    blocks.append(Table(lockstep.table(shown), ".3g"))
    if len(qualities):
        qualities = qualities.assign(metric=qualities.metric.map(quality.SHOWN), spread=100 * qualities.spread)
        qualities = qualities.rename(columns={"label": "model", "spread": "spread across backends (%)"})
        blocks.append(Details("Every quality metric's spread across backends, in lockstep", [Table(qualities, ".3g")]))
    return blocks


def profile_section(
    root: Path, out: Path, profile: str, chosen, epochs, summary, agreement, scored, steps, evaluations
) -> tuple[list[Block], pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """At a glance → speed → whether the backends learn alike → sample quality and claims → cost, of one profile."""
    chosen = chosen[chosen.profile == profile]
    summary = summary[summary.profile == profile].drop(columns="profile")
    agreement = agreement[agreement.profile == profile].drop(columns="profile") if len(agreement) else agreement
    grid = expected(chosen)
    frame = tables.epoch_frame(chosen, epochs)
    losses = tables.final_losses(chosen, frame)
    folder = out / profile
    long = replicates.per_seed(frame, scored[scored.profile == profile])
    effects = replicates.effects(long)
    div = lockstep.divergence(chosen, steps)
    parted, weights = lockstep.parting(div), lockstep.final_weights(root, chosen)
    qualities = lockstep.quality_spread(scored[scored.profile == profile])
    apart = lockstep.summary(parted, weights, qualities)
    blocks: list[Block] = [
        Heading(f"Profile `{profile}`"),
        *glance(
            summary, effects, grid, lockstep.glance_lines(parted, weights), target.glance(chosen), side_by_side(chosen)
        ),
    ]
    blocks += target.section(chosen, evaluations, quality.reference(profile), folder)
    blocks += speed_blocks(summary, chosen, profile, folder)
    blocks += learning_blocks(frame, losses, agreement, long, effects, grid, folder)
    blocks += lockstep_blocks(div, apart, qualities, folder)
    quality_blocks, verdicts = quality.section(scored, profile, folder)
    blocks += quality_blocks + samples_blocks(root, grid, folder, profile)
    cost = tables.paper_cost(chosen, epochs, summary.assign(profile=profile))
    if len(cost) and profile != "paper":
        blocks += [Heading("What the `paper` grid would take", 3), Text(cost_text(cost))]
        blocks.append(Table(cost.drop(columns="profile")))
    return blocks, verdicts, effects, apart.assign(profile=profile)


def build_report(root: Path, out: Path | None = None, exclude: tuple[str, ...] = ()) -> Path:
    """Write the report of every results folder under `root` (but `exclude`) into `out` (default `root/report`)."""
    out = out or root / "report"
    cells, epochs, scores = load(root, exclude)
    chosen, superseded = latest(cells)
    summary = tables.summary(chosen, epochs)
    agreement = tables.agreement(chosen, epochs)
    scored = quality.with_training_time(quality.wide(chosen, scores), epochs)
    out.mkdir(parents=True, exist_ok=True)
    with atomic_write(out / "grid.csv") as f:
        f.write(expected(chosen).drop(columns=["label"]).to_csv(index=False).encode())
    blocks: list[Block] = [Heading("gvbench report", 1)]
    blocks.append(
        Text(
            f"{len(chosen)} cells from {chosen.run_id.nunique()} runs in {len(set(chosen.source))} results "
            f"folder(s). Reruns of a cell show its latest ok row (else its latest row); "
            f"{superseded} earlier rows are not shown."
        )
    )
    blocks.append(Contents())
    steps = load_steps(root, exclude)
    evaluations = load_evaluations(root, exclude)
    verdicts, effects, parted = [], [], []
    for profile in sorted(chosen.profile.unique()):
        profile_blocks, found, tested, apart = profile_section(
            root,
            out,
            profile,
            chosen,
            epochs,
            summary,
            agreement,
            scored,
            steps[steps.profile == profile],
            evaluations[evaluations.profile == profile],
        )
        blocks += profile_blocks
        verdicts.append(found)
        effects.append(tested)
        parted.append(apart)
    blocks += [Heading("Where the numbers come from", 2), Table(provenance(chosen))]
    tables_out = {"summary.csv": summary, "agreement.csv": agreement, "quality.csv": scored.drop(columns="label")}
    tables_out["claims.csv"] = pd.concat(verdicts, ignore_index=True)
    tables_out["replicates.csv"] = pd.concat(effects, ignore_index=True)
    tables_out["lockstep.csv"] = pd.concat(parted, ignore_index=True)
    tables_out["paper-cost.csv"] = tables.paper_cost(chosen, epochs, summary)
    tables_out["speed.csv"] = speed.per_setting(chosen)
    for name, frame in tables_out.items():
        with atomic_write(out / name) as f:
            f.write(frame.to_csv(index=False).encode())
    with atomic_write(out / "report.md") as f:
        f.write(to_markdown(blocks, out).encode())
    with atomic_write(out / "report.html") as f:
        f.write(to_html(blocks, "gvbench report").encode())
    return out
