"""`gvbench report` on small fixture CSVs: files, images, links, and numbers computed by hand."""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
import pytest
from PIL import Image

from suite.choices import BACKENDS, Status
from suite.cli import main
from suite.contract import Cell, EpochRecord, Facts, Result
from suite.files import atomic_write
from suite.formatting import number, span, times
from suite.report import build_report, figures, tables
from suite.report.page import Details, Figure, Heading, Table, Text, to_html, to_markdown
from suite.report.sections.first_epoch import compile_lines, first_epoch_excess
from suite.report.sections.learning import NEUTRAL_DIVERGING, final_loss_heatmaps, loss_curves
from suite.report.sections.speed import headline
from suite.run import rows
from suite.store.derived import epoch_frame
from suite.store.folder import append_cell
from suite.store.loading import latest, load


def result(times: list[float], losses: dict[str, list[float]], status: str = "ok", **extra) -> Result:
    epochs = [
        EpochRecord(i + 1, t, 4, 512 / t, {name: values[i] for name, values in losses.items()})
        for i, t in enumerate(times)
    ]
    facts = Facts(backend_version="9.9", keras_version="3.x", cpu_model="Test CPU", started_at="2026-01-01")
    facts.rss_before_train_mb, facts.train_peak_rss_mb = 500.0, 500.0 + 10 * len(times)
    return Result(Status(status), facts=facts, epochs=epochs, **extra)


def write_cell(
    out: Path,
    run_id: str,
    backend: str,
    model: str,
    lr: float,
    res: dict,
    seed: int = 0,
    mode: str = "independent",
    profile: str = "smoke",
    variant: str = "paper",
) -> None:
    cell = Cell(backend, model, variant, lr, profile, seed, 2, 3, mode=mode)
    samples = f"samples/{run_id}/{cell.cell_id}.npz"
    if res.status == Status.OK:
        rng = np.random.default_rng(len(cell.cell_id))
        arrays = {"generated": rng.integers(0, 256, (16, 28, 28), dtype=np.uint8)}
        if model.endswith("VAE"):
            arrays |= {"inputs": arrays["generated"], "reconstructed": arrays["generated"][::-1]}
        with atomic_write(out / samples) as f:
            np.savez_compressed(f, **arrays)
    append_cell(out, *rows(run_id, cell, res, samples, f"logs/{run_id}/{cell.cell_id}.log"))


@pytest.fixture(scope="module")
def fixture_results(tmp_path_factory) -> Path:
    """TensorFlow and JAX (no PyTorch), DenseGAN and DenseVAE at two learning rates; one failed cell,
    one diverged cell, and one cell run twice (a failure, then an ok rerun)."""
    root = tmp_path_factory.mktemp("results")
    tf, jax = root / "tf", root / "jax"
    gan = {"d_loss": [1.5, 1.4, 1.3], "g_loss": [0.9, 0.8, 0.7]}
    write_cell(tf, "t1", "tensorflow", "DenseGAN", 1e-4, result([5.0, 1.0, 2.0], gan))
    diverged = {"d_loss": [1.5, float("nan")], "g_loss": [0.9, float("nan")]}
    write_cell(tf, "t1", "tensorflow", "DenseGAN", 1e-5, result([5.0, 3.0], diverged, "diverged", diverged_epoch=2))
    write_cell(tf, "t1", "tensorflow", "DenseVAE", 1e-4, result([4.0, 1.0, 1.0], {"loss": [300.0, 250.0, 200.0]}))
    write_cell(tf, "t1", "tensorflow", "DenseVAE", 1e-5, result([4.0, 2.0, 2.0], {"loss": [300.0, 280.0, 260.0]}))
    gan_a, gan_b = {"d_loss": [1, 1, 1.2], "g_loss": [1, 1, 0.9]}, {"d_loss": [1, 1, 1.1], "g_loss": [1, 1, 1.0]}
    write_cell(jax, "j1", "jax", "DenseGAN", 1e-4, result([8.0, 0.5, 0.7], gan_a))
    write_cell(jax, "j1", "jax", "DenseGAN", 1e-5, result([9.0, 0.6, 0.4], gan_b))
    write_cell(jax, "j1", "jax", "DenseVAE", 1e-4, result([], {}, "failed", error="RuntimeError: boom\ntrace"))
    write_cell(jax, "j2", "jax", "DenseVAE", 1e-4, result([3.0, 0.2, 0.3], {"loss": [300.0, 240.0, 210.0]}))
    write_cell(jax, "j2", "jax", "DenseVAE", 1e-5, result([], {}, "failed", error="MemoryError: out of memory"))
    build_report(root)
    return root


def summary_row(root: Path, model: str, backend: str) -> pd.Series:
    summary = pd.read_csv(root / "report" / "summary.csv")
    return summary[(summary.model == model) & (summary.backend == backend)].iloc[0]


def test_summary_numbers_equal_a_hand_computation(fixture_results):
    """Timings are over processes: each ok cell is one, valued at the median of its steady epochs."""
    tf_gan = summary_row(fixture_results, "DenseGAN", "tensorflow")
    # Only the ok cell's epochs 2..3 count: the diverged cell's times are not timings. One process: no interval.
    assert tf_gan.processes == 1 and tf_gan.steady_epoch_s == pytest.approx(1.5)
    assert np.isnan(tf_gan.steady_epoch_ci_low_s) and np.isnan(tf_gan.between_process_cv)
    assert tf_gan.within_process_cv == pytest.approx(np.std(np.log([1.0, 2.0]), ddof=1))
    assert tf_gan.first_epoch_s == pytest.approx(5.0)
    assert tf_gan.cells == 2 and tf_gan.cells_ok == 1
    assert tf_gan.statuses == "1e-04 ok · 1e-05 diverged@2"
    assert tf_gan.steady_states == "1 too few epochs"
    jax_gan = summary_row(fixture_results, "DenseGAN", "jax")
    # JAX's two DenseGAN processes: medians 0.6 and 0.5; their geometric mean and its t interval (1 degree of freedom)
    assert jax_gan.processes == 2 and jax_gan.steady_epoch_s == pytest.approx(math.sqrt(0.6 * 0.5))
    half = 12.706 * np.std(np.log([0.6, 0.5]), ddof=1) / math.sqrt(2)
    assert jax_gan.steady_epoch_ci_high_s == pytest.approx(math.sqrt(0.3) * math.exp(half), rel=1e-4)
    assert jax_gan.steady_epoch_ci_level == 0.95
    assert (jax_gan.process_min_s, jax_gan.process_max_s) == (0.5, 0.6)
    assert jax_gan.between_process_cv == pytest.approx(np.std(np.log([0.6, 0.5]), ddof=1))
    assert jax_gan.first_epoch_s == pytest.approx(8.5)
    assert jax_gan.ratio_to_fastest == pytest.approx(1.0)
    assert np.isnan(jax_gan.ratio_ci_low), "the fastest backend's ratio is 1 by definition"
    assert tf_gan.ratio_to_fastest == pytest.approx(1.5 / math.sqrt(0.3))
    assert np.isnan(tf_gan.ratio_ci_low) and tf_gan.verdict == "undecided", "one TensorFlow process: no interval"
    assert jax_gan.compile_overhead_s == pytest.approx(8.5 - math.sqrt(0.3))
    assert jax_gan.samples_per_s == pytest.approx(
        np.median([np.median([512 / 0.5, 512 / 0.7]), np.median([512 / 0.6, 512 / 0.4])])
    )
    assert jax_gan.train_memory_mb == pytest.approx(30.0) and np.isnan(
        summary_row(fixture_results, "DenseGAN", "torch").train_memory_mb
    )
    assert tf_gan["final_g_loss_lr1e-04"] == pytest.approx(0.7) and np.isnan(tf_gan["final_g_loss_lr1e-05"])
    assert jax_gan["final_d_loss_lr1e-05"] == pytest.approx(1.1)
    tf_vae = summary_row(fixture_results, "DenseVAE", "tensorflow")  # medians 1.0 and 2.0 against JAX's one cell
    assert tf_vae.processes == 2 and np.isnan(tf_vae.ratio_ci_low), "one process of the fastest: no interval"
    jax_vae = summary_row(fixture_results, "DenseVAE", "jax")
    assert jax_vae.statuses == "1e-04 ok · 1e-05 failed", "the ok rerun stands in for the earlier failure"
    assert jax_vae.steady_epoch_s == pytest.approx(0.25)
    assert tf_vae.ratio_to_fastest == pytest.approx(math.sqrt(2.0) / 0.25)


def test_a_missing_backend_is_shown_as_missing(fixture_results):
    torch = summary_row(fixture_results, "DenseGAN", "torch")
    assert torch.cells_ok == 0 and torch.statuses == "1e-04 missing · 1e-05 missing"
    grid = pd.read_csv(fixture_results / "report" / "grid.csv")
    assert len(grid) == 3 * 2 * 2, "every backend × model × lr of the grid has a row"
    assert (grid[grid.backend == "torch"].status == "missing").all()
    report = (fixture_results / "report" / "report.md").read_text()
    assert "MemoryError: out of memory" in report and "missing" in report
    # At a glance, a backend that ran no cell is named once, not counted cell by cell among the cells not ok.
    assert "No cell of this profile ran on torch" in report
    assert re.search(r"Cells not ok: \d+ of 8 cells of the grid", report), "tensorflow and jax: 2 models × 2 lrs each"


def test_agreement_table_compares_backends_side_by_side(fixture_results):
    agreement = pd.read_csv(fixture_results / "report" / "agreement.csv")
    row = agreement[(agreement.model == "DenseVAE") & (agreement.lr == 1e-4)].iloc[0]
    assert row.tensorflow == pytest.approx(200.0) and row.jax == pytest.approx(210.0)
    assert row.spread == pytest.approx(10.0) and row.relative_spread == pytest.approx(10.0 / 205.0)
    lonely = agreement[(agreement.model == "DenseGAN") & (agreement.lr == 1e-5)]
    assert (lonely.backends == 1).all(), "the diverged TensorFlow cell has no final loss to compare"


def test_every_figure_is_a_valid_png_and_svg(fixture_results):
    folder = fixture_results / "report" / "smoke"
    names = ["headline", "first-epoch-excess", "loss-curves", "final-loss"]
    names += [f"samples-{family}-lr{lr}" for family in ("gan", "vae") for lr in ("1e-04", "1e-05")]
    names += ["reconstructions-lr1e-04", "reconstructions-lr1e-05"]
    for name in names:
        with Image.open(folder / f"{name}.png") as image:
            image.verify()
            assert image.format == "PNG" and min(image.size) > 100, name
        assert ElementTree.parse(folder / f"{name}.svg").getroot().tag.endswith("svg"), name


def test_every_reference_of_the_page_exists_or_is_embedded(fixture_results):
    folder = fixture_results / "report"
    page = (folder / "report.html").read_text()
    sources = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert len([s for s in sources if s.startswith("data:image/png;base64,")]) >= 10
    anchors = [s[1:] for s in sources if s.startswith("#")]
    assert anchors and all(f'id="{a}"' in page for a in anchors), "every link inside the page lands on a heading"
    outside = [s for s in sources if not s.startswith(("data:", "#"))]
    assert all((folder / s).exists() for s in outside), "report.html needs only itself"
    links = [link for link in re.findall(r"\]\(([^)]+)\)", (folder / "report.md").read_text()) if link[0] != "#"]
    assert links and all((folder / link).exists() for link in links)


def test_report_command_on_a_folder_without_results(tmp_path, capsys):
    assert main(["report", str(tmp_path)]) == 2
    assert "no cells.csv" in capsys.readouterr().err
    assert main(["report", str(tmp_path / "absent")]) == 2
    write_cell(tmp_path / "reference", "r1", "torch", "CNNGAN", 1e-4, result([], {}, "failed", error="boom"))
    assert main(["report", str(tmp_path), "--exclude", "reference"]) == 2, "an excluded folder is not read"
    assert "no cells.csv" in capsys.readouterr().err


def test_report_of_only_failed_cells_does_not_crash(tmp_path):
    write_cell(tmp_path, "r1", "torch", "CNNGAN", 1e-4, result([], {}, "failed", error="boom"))
    out = build_report(tmp_path)
    report = (out / "report.md").read_text()
    assert "1 of 1 cells of the grid" in report, "the one that ran failed; the backends that ran nothing are named"
    assert "No cell of this profile ran on tensorflow or jax" in report and "boom" in report
    with Image.open(out / "smoke" / "headline.png") as image:
        image.verify()


def test_cells_run_side_by_side_are_named_at_a_glance_and_cells_run_alone_are_not(tmp_path, fixture_results):
    gan = {"d_loss": [1.5, 1.4], "g_loss": [0.9, 0.8]}
    for lr, parallel in ((1e-4, 2), (1e-5, 1)):
        res = result([5.0, 1.0], gan)
        res.facts.parallel_cells = parallel
        write_cell(tmp_path, "r1", "torch", "DenseGAN", lr, res)
    glance = (build_report(tmp_path) / "report.md").read_text().split("### Speed")[0]
    assert "1 of 2 cells ran up to 2 at once, each given CPUs of its own" in glance
    alone = (build_report(fixture_results, tmp_path / "alone") / "report.md").read_text()
    assert "at once" not in alone, "cells that record no parallel_cells (schema 5 and before) ran one at a time"


def test_paper_cost_scales_the_measured_step_time(fixture_results):
    cost = pd.read_csv(fixture_results / "report" / "paper-cost.csv")
    tf_gan = cost[(cost.model == "DenseGAN") & (cost.backend == "tensorflow")].iloc[0]
    # smoke: 512 images / batch 128 = 4 steps; steady median 1.5 s -> 0.375 s/step; paper: 50 x 469 steps;
    # plus the first epoch's excess 5 - 1.5 s (no cell_wall_s in the fixture, so nothing outside epochs)
    assert tf_gan.s_per_step == pytest.approx(0.375)
    assert tf_gan.paper_cell_h == pytest.approx((50 * 469 * 0.375 + 3.5) / 3600)
    assert tf_gan.paper_model_cell_h == pytest.approx(3 * tf_gan.paper_cell_h)
    assert "What the `paper` grid would take" in (fixture_results / "report" / "report.md").read_text()


def test_the_headline_labels_each_mean_with_its_ratio_and_draws_every_process_on_plainly_ticked_seconds():
    summary = pd.DataFrame(
        {
            "model": ["CNNGAN", "CNNGAN", "DenseGAN"],
            "backend": ["torch", "jax", "torch"],
            "steady_epoch_s": [2.0, 8.0, 0.5],
            "steady_epoch_ci_low_s": [1.9, 7.0, np.nan],
            "steady_epoch_ci_high_s": [2.1, 9.0, np.nan],
            "process_min_s": [1.9, 7.5, 0.5],
            "process_max_s": [2.1, 8.5, 0.5],
            "ratio_to_fastest": [1.0, 4.0, 1.0],
            "ratio_ci_low": [np.nan, 3.5, np.nan],
            "ratio_ci_high": [np.nan, 4.5, np.nan],
            "ratio_ci_level": [np.nan, 0.95, np.nan],
        }
    )
    processes = pd.DataFrame(
        {"label": ["CNNGAN"] * 4 + ["DenseGAN"], "backend": ["torch"] * 2 + ["jax"] * 2 + ["torch"]}
    ).assign(median_s=[1.9, 2.1, 7.5, 8.5, 0.5])
    ax = headline(summary, processes).axes[0]
    labels = ["2 s · lowest", "8 s · 4× [3.5–4.5] 95%", "0.5 s · lowest"]
    assert [t.get_text() for t in ax.texts] == labels
    assert len(ax.lines) >= 5, "a dot per process"
    assert [t.get_text() for t in ax.get_yticklabels()] == ["DenseGAN", "CNNGAN"]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["1", "3", "10", "30"]
    assert ax.get_xscale() == "log"


def test_html_tables_drop_a_pivots_column_name_print_big_numbers_plainly_and_keep_short_cells_whole(tmp_path):
    evidence = "CNNGAN reads 71% of its samples against 3% for DenseGAN and 2% for DenseGAN-Deep"
    frame = pd.DataFrame(
        {"model": ["CNNGAN"], "images/s": [10374.2], "lr": ["1e-06"], "ratio": [np.float64(1.5)], "why": [evidence]}
    ).rename_axis(columns="metric")
    page = to_html([Table(frame)], "t")
    assert "<th></th>" not in page and "metric" not in page
    assert '<td class="num">10,374</td>' in page and "e+04" not in page
    assert '<td class="short">1e-06</td>' in page and '<td class="num">1.5</td>' in page
    assert f'<td class="text">{evidence}</td>' in page
    assert '<div class="table"><table>' in page, "a wide table scrolls in its own box, not the page"
    assert to_markdown([Table(frame)], tmp_path).splitlines()[0].split("|")[1].strip() == "model"


def test_numbers_print_whole_where_their_format_would_switch_to_an_exponent():
    assert [number(v) for v in (1582.4, 8750.0, 67.71, 0.000123)] == ["1,582", "8,750", "67.7", "0.000123"]
    page = to_html([Table(pd.DataFrame({"steps_to_target": [8750.0, 750.0]}), "value")], "t")
    assert "8,750" in page and "e+03" not in page


def test_a_first_epoch_faster_than_the_steady_ones_reads_less_not_minus_more():
    summary = pd.DataFrame(
        {
            "backend": ["torch", "torch", "jax"],
            "first_epoch_s": [0.9, 1.1, 12.0],
            "steady_epoch_s": [1.0, 1.2, 2.0],
            "compile_overhead_s": [-0.1, -0.1, 10.0],
        }
    )
    jax, torch = sorted(compile_lines(summary))
    assert jax.startswith("jax: epoch 1 takes 10 s more than a steady epoch")
    assert torch.startswith("torch: epoch 1 takes 0.1 s less than a steady epoch") and "-0.1 s less" not in torch


def test_the_page_reads_glance_speed_agreement_quality_cost_then_provenance_with_contents(fixture_results):
    page = (fixture_results / "report" / "report.html").read_text()
    order = ["At a glance", "Speed", "Do the backends learn alike?", "Sample quality", "Samples", "What the <code>"]
    order += ["Where the numbers come from"]
    starts = [page.index(f'">{heading}') for heading in order]
    assert starts == sorted(starts), "sections out of order"
    anchors = re.findall(r'<a href="#([^"]+)">', page)
    assert len(anchors) >= len(order) and all(f'id="{a}"' in page for a in anchors), "every contents link lands"
    assert page.index("<nav>") < starts[0]
    folded = page[page.index("<details><summary>Samples at lr 1e-05") :]
    assert "samples-" not in folded.split("</details>")[0] or "data:image/png" in folded.split("</details>")[0]
    markdown = (fixture_results / "report" / "report.md").read_text()
    assert "- [Speed](#speed)" in markdown and "<details><summary>Samples at lr 1e-05" in markdown


def test_figures_carry_their_own_title_and_no_caption_repeats_it(tmp_path):
    png = tmp_path / "a.png"
    Image.new("RGB", (4, 4)).save(png)
    page = to_html([Figure(png, "Loss per epoch")], "t")
    assert page.count("Loss per epoch") == 1 and 'alt="Loss per epoch"' in page and "figcaption" not in page


def test_contents_anchors_follow_githubs_rule_and_repeated_headings_get_a_suffix(tmp_path):
    blocks = [
        Heading("Profile `quick`"),
        Heading("At a glance", 3),
        Heading("Profile `smoke`"),
        Heading("At a glance", 3),
    ]
    page = to_html([Details("more", [Text("x")]), *blocks], "t")
    for anchor in ["profile-quick", "at-a-glance", "profile-smoke", "at-a-glance-1"]:
        assert f'id="{anchor}"' in page and f'href="#{anchor}"' not in page, "no Contents block, no links"
    assert "<details><summary>more</summary>" in page


def test_the_first_epoch_figure_shows_the_excess_in_linear_seconds_in_backend_colours():
    summary = pd.DataFrame(
        {
            "model": ["CNNGAN", "CNNGAN", "CNNGAN"],
            "backend": ["tensorflow", "torch", "jax"],
            "compile_overhead_s": [3.8, 0.0123, 4.6],
        }
    )
    ax = first_epoch_excess(summary).axes[0]
    assert ax.get_xscale() == "linear"
    assert sorted(t.get_text() for t in ax.texts) == ["+0.0123 s", "+3.8 s", "+4.6 s"], "torch's tiny cost is labelled"
    bars = {round(p.get_width(), 4): p.get_facecolor()[:3] for p in ax.patches if p.get_width()}
    assert np.allclose(bars[0.0123], figures.PALETTE["torch"]) and np.allclose(bars[4.6], figures.PALETTE["jax"])


def test_loss_curves_have_a_column_per_learning_rate_and_a_line_per_backend(fixture_results):
    cells, epochs, _ = load(fixture_results, ("jax",))
    frame = epoch_frame(latest(cells)[0], epochs)
    grid = loss_curves(frame)
    axes = np.array(grid.axes).reshape(-1, 2)
    assert axes.shape == (3, 2), "rows: DenseGAN d and g loss, DenseVAE loss; columns: lr 1e-04 and 1e-05"
    assert [ax.get_title() for ax in axes[0]] == ["lr 1e-04", "lr 1e-05"]
    drawn = [[line for line in ax.get_lines() if len(line.get_xdata())] for ax in axes.flat]
    assert [len(lines) for lines in drawn] == [1] * 6, "one backend in this folder: one line a panel"
    assert len(drawn[1][0].get_xdata()) == 1, "the diverged cell ends at its last finite epoch"


def test_the_final_loss_heatmap_colours_each_cell_against_the_backends_at_its_own_learning_rate():
    grid = pd.DataFrame(
        [(b, "DenseVAE", lr, "ok") for b in ("tensorflow", "torch", "jax") for lr in (1e-4, 1e-5)],
        columns=["backend", "label", "lr", "status"],
    )
    # At lr 1e-4 every backend ends at 100; at 1e-5 at 400, 400 and 800. A median over both lrs (250)
    # would colour every cell; against its own lr only JAX at 1e-5 stands out, by log2(800 / 400) = 1.
    values = {1e-4: [100, 100, 100], 1e-5: [400, 400, 800]}
    losses = pd.DataFrame(
        [(b, "DenseVAE", lr, "loss", v) for lr, vs in values.items() for b, v in zip(BACKENDS, vs, strict=True)],
        columns=["backend", "label", "lr", "loss", "value"],
    )
    fig = final_loss_heatmaps(losses, grid)
    colours = [np.asarray(ax.collections[0].get_array()).reshape(-1) for ax in fig.axes[: len(BACKENDS)]]
    assert [list(c) for c in colours] == [[0.0, 0.0], [0.0, 0.0], [0.0, 1.0]]
    cmap, neutral = fig.axes[0].collections[0].get_cmap(), matplotlib.colormaps[NEUTRAL_DIVERGING]
    assert np.allclose(cmap(0.0), neutral(0.0)) and np.allclose(cmap(1.0), neutral(1.0))


def test_the_same_csvs_draw_byte_identical_figures(fixture_results, tmp_path):
    build_report(fixture_results, tmp_path)
    first, again = fixture_results / "report" / "smoke", tmp_path / "smoke"
    names = sorted(p.name for p in first.iterdir())
    assert names == sorted(p.name for p in again.iterdir()) and any(n.endswith(".svg") for n in names)
    assert [n for n in names if (first / n).read_bytes() != (again / n).read_bytes()] == []


def test_backends_are_tested_against_the_spread_between_seeds_and_alike_means_within_a_margin(tmp_path):
    # DenseVAE: TensorFlow ends at 300-305 and JAX at 200-205 over 6 seeds (no overlap: p = 0.0040, Holm × 3);
    # DenseGAN: the backends' seeds interleave in d_loss (p = 1) and agree exactly in g_loss; CNNVAE has one seed.
    for seed in range(6):
        for backend, base in (("tensorflow", 300.0), ("jax", 200.0)):
            loss = {"loss": [400.0, base + seed]}
            write_cell(tmp_path, "r", backend, "DenseVAE", 1e-4, result([3.0, 1.0], loss), seed)
            gan = {"d_loss": [1.0, 1.0 + seed / 10 + (backend == "jax") / 20], "g_loss": [1.0, 1.0]}
            write_cell(tmp_path, "r", backend, "DenseGAN", 1e-4, result([3.0, 1.0], gan), seed)
    for backend, value in (("tensorflow", 840.0), ("jax", 460.0)):
        write_cell(tmp_path, "r", backend, "CNNVAE", 1e-4, result([3.0, 1.0], {"loss": [900.0, value]}))
    out = build_report(tmp_path)
    found = pd.read_csv(out / "replicates.csv").set_index(["label", "measure"])
    vae = found.loc[("DenseVAE", "loss")]
    assert vae.verdict == "backends differ" and vae.seeds == 6 and vae.p_value == pytest.approx(0.00395, abs=1e-4)
    assert vae.p_value_holm == pytest.approx(3 * vae.p_value), "Holm over the three measures with seeds"
    # Ranks 1-6 and 7-12: H = 12 / (12 * 13) * (21² / 6 + 57² / 6) - 3 * 13 = 8.31; epsilon² = H / (12 - 1).
    assert vae.epsilon_squared == pytest.approx((12 / 156 * (21**2 / 6 + 57**2 / 6) - 39) / 11)
    hodges_lehmann = np.exp(np.median(np.subtract.outer(np.log(300.0 + np.arange(6)), np.log(200.0 + np.arange(6)))))
    assert (vae.highest, vae.lowest) == ("tensorflow", "jax") and vae.ratio == pytest.approx(hodges_lehmann)
    assert vae.ratio_ci_low <= vae.ratio <= vae.ratio_ci_high, "the ratio is what its interval estimates"
    d_loss, g_loss = found.loc[("DenseGAN", "d_loss")], found.loc[("DenseGAN", "g_loss")]
    assert d_loss.verdict == "undecided" and d_loss.margin == "±0.05", "not told apart is not alike"
    assert g_loss.verdict == "alike within the margin" and g_loss.p_value == 1.0, "equal values everywhere"
    cnn = found.loc[("CNNVAE", "loss")]
    assert cnn.verdict == "undecided: one seed per backend" and np.isnan(cnn.p_value)
    page = (out / "report.md").read_text()
    assert "DenseVAE, 1 measures (6+ seeds per backend, Holm over the profile's measures, alpha 0.05): alike " in page
    assert "alike within their margins in 0, different beyond the spread between seeds in 1, undecided in 0" in page
    assert "alike within their margins in 1, different beyond the spread between seeds in 0, undecided in 1" in page
    assert "(final discriminator loss (margin ±0.05): neither equivalence nor a difference is shown)" in page
    assert "CNNVAE: undecided (1 seed per backend)" in page and "could not have been seen" not in page
    with Image.open(out / "smoke" / "replicates.png") as image:
        image.verify()


def test_lockstep_backends_are_compared_within_each_seed(tmp_path):
    # Each lockstep seed moves every backend's final loss alike (100, 200, 300), and within each seed
    # JAX < torch < TensorFlow by 1. Against the seed spread (Kruskal–Wallis) that is nothing (p = 0.67);
    # within the seeds (Friedman) every seed ranks the backends the same: p = 6 / 216, W = 1.
    for seed in range(3):
        for backend, offset in (("tensorflow", 2.0), ("torch", 1.0), ("jax", 0.0)):
            loss = {"loss": [400.0, 100.0 * (seed + 1) + offset]}
            write_cell(tmp_path, "r", backend, "DenseVAE", 1e-4, result([3.0, 1.0], loss), seed, mode="lockstep")
    out = build_report(tmp_path)
    found = pd.read_csv(out / "replicates.csv").set_index(["label", "measure"])
    loss = found.loc[("DenseVAE [lockstep]", "loss")]
    assert loss.test == "Friedman, paired by seed" and loss.verdict == "backends differ"
    assert loss.p_value == pytest.approx(6 / 216) and loss.kendalls_w == 1.0 and np.isnan(loss.epsilon_squared)
    geometric = np.exp(np.mean(np.log([102.0, 202, 302]) - np.log([100.0, 200, 300])))
    assert (loss.highest, loss.lowest) == ("tensorflow", "jax") and loss.ratio == pytest.approx(geometric)
    page = (out / "report.md").read_text()
    assert "different consistently across seeds in 1, undecided in 0; largest difference: final" in page


def test_models_with_different_epochs_and_seeds_get_no_phantom_epochs_or_missing_cells(tmp_path):
    for backend in ("tensorflow", "jax"):
        write_cell(tmp_path, "r", backend, "DenseVAE", 1e-4, result([3.0, 1.0, 1.0, 1.0], {"loss": [4, 3, 2, 1.0]}))
        for seed in (0, 1):
            write_cell(tmp_path, "r", backend, "CNNVAE", 1e-4, result([3.0, 1.0], {"loss": [9.0, 8.0 + seed]}), seed)
    out = build_report(tmp_path)
    grid = pd.read_csv(out / "grid.csv")
    assert len(grid) == 3 * 3, "DenseVAE seed 0, CNNVAE seeds 0 and 1, on each of three backends"
    assert set(grid[grid.status == "missing"].backend) == {"torch"}
    summary = pd.read_csv(out / "summary.csv").set_index(["model", "backend"])
    assert summary.loc[("CNNVAE", "jax"), "final_loss_lr1e-04"] == pytest.approx(8.5), "median of seeds 0 and 1"
    assert summary.loc[("DenseVAE", "jax"), "steady_epochs"] == 3


def test_a_ratio_that_is_not_1_never_prints_as_1():
    # the shipped lockstep run's CNNVAE classifier score: torch over JAX 1.000001, the same order on every seed
    assert times(1.000001) == "1.000001×" and times(0.999999) == "0.999999×"
    assert span(0.999999, 1.000003) == "0.999999–1.000003"
    assert times(1.47) == "1.47×" and times(1.0) == "1×" and span(1.12, 1.88) == "1.12–1.88"
    assert times(1 + 2e-16) == "1×", "a ratio of equal values computed through logs is 1"


def test_two_close_learning_rates_keep_two_columns(tmp_path):
    write_cell(tmp_path, "r1", "tensorflow", "DenseVAE", 2e-4, result([4.0, 1.0], {"loss": [300.0, 250.0]}))
    write_cell(tmp_path, "r1", "tensorflow", "DenseVAE", 2.5e-4, result([4.0, 1.0], {"loss": [300.0, 240.0]}))
    cells, epochs, _ = load(tmp_path)
    chosen, _ = latest(cells)
    found = tables.summary(chosen, epochs)
    assert found.loc[0, "final_loss_lr2e-04"] == 250.0 and found.loc[0, "final_loss_lr2.5e-04"] == 240.0
    assert found.loc[0, "statuses"] == "2.5e-04 ok · 2e-04 ok"
