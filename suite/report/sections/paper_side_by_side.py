"""The paper's four figures re-drawn from the cells of its protocol, each beside the paper's own image, with the
judge's numbers of both."""

from __future__ import annotations

import shutil

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from architectures import get_spec
from suite.choices import BACKENDS, COMPLETED
from suite.formatting import lr_label, number
from suite.paper import CAPTIONS, FIGURES, GANS, PAPER_FILES, PAPER_SCORES, PROTOCOL, VAES
from suite.report import figures
from suite.report.frames import ProfileFrames
from suite.report.page import Block, Bullets, Figure, Heading, Table, Text
from suite.report.sample_files import saved_samples, tile
from suite.store.loading import LOSSES

LICENSE = "paper-figures-LICENSE"
"""The license of the paper's images, copied beside the report that shows them."""
NOTICE = (
    "The paper's images (top or left) are its authors', from their repository, © 2021 Ninad Kiran Gaikwad, under "
    f"the MIT license (`{LICENSE}` beside this report)."
)


def protocol_cells(frames: ProfileFrames) -> pd.DataFrame:
    """Per model, the cell the figures show: the paper's profile, its authors' rate, the code variant where it ran
    (what the authors' figures show), TensorFlow where it ran (the paper's framework), the lowest seed."""
    chosen = frames.chosen
    ok = chosen[chosen.status.isin(COMPLETED) & (chosen.impl == "keras") & (chosen.jit == "auto")]
    ok = ok[ok.profile == PROTOCOL]
    if ok.empty:
        return ok
    ok = ok[np.isclose(ok.lr, ok.model.map(lambda m: get_spec(m).paper_lr).astype(float))]
    if ok.empty:
        return ok
    rank = ok.assign(
        _variant=(ok.variant != "code").astype(int), _backend=ok.backend.map(BACKENDS.index), _mode=ok["mode"]
    )
    rank = rank.sort_values(["_variant", "_backend", "seed"]).drop_duplicates("model")
    return rank.drop(columns=["_variant", "_backend", "_mode"]).set_index("model")


def _paper_image(ax: plt.Axes, name: str) -> None:
    ax.imshow(plt.imread(FIGURES / name))
    ax.set_axis_off()


def _grid(ax: plt.Axes, images: np.ndarray) -> None:
    ax.imshow(tile(images), cmap="gray", vmin=0, vmax=255, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])


def _where(cell: pd.Series) -> str:
    return f"{cell.backend}, {cell.variant}, lr {lr_label(cell.lr)}, seed {cell.seed}"


def samples_figure(frames: ProfileFrames, cells: pd.DataFrame) -> plt.Figure:
    """Figure 1: the paper's 16 samples of each GAN above the re-run's first 16."""
    models = [m for m in GANS if m in cells.index]
    fig, axes = plt.subplots(2, len(models), figsize=(3.2 * len(models), 6.6), squeeze=False)
    for column, model in enumerate(models):
        _paper_image(axes[0, column], PAPER_FILES[model].samples)
        axes[0, column].set_title(f"{model}: the paper", fontsize=10)
        arrays = saved_samples(frames.root, cells.loc[model])
        _grid(axes[1, column], arrays["generated"])
        axes[1, column].set_title(f"re-run ({_where(cells.loc[model])})", fontsize=8)
    fig.suptitle("Figure 1, re-drawn: 16 generated digits per GAN")
    fig.tight_layout()
    return fig


def _loss_panel(ax: plt.Axes, epochs: pd.DataFrame, model: str, title: str) -> None:
    """Each loss's last batch per epoch (as the authors' scripts recorded it) and, dashed, its epoch mean."""
    for loss in sorted(get_spec(model).family.loss_names, key=lambda name: name != "g_loss"):  # the paper's order
        last = epochs[f"{loss}_last"]
        style = {"marker": ".", "label": f"{LOSSES[loss]}: last batch"}
        (line,) = ax.plot(epochs.epoch, last, **style) if last.notna().any() else ax.plot([], [])
        ax.plot(epochs.epoch, epochs[loss], color=line.get_color(), ls="--", lw=1, label=f"{LOSSES[loss]}: epoch mean")
    ax.set(xlabel="epoch", ylabel="loss")
    ax.set_title(title, fontsize=8)
    ax.legend(fontsize=6, framealpha=0.6)


def losses_figure(frames: ProfileFrames, cells: pd.DataFrame, models: tuple[str, ...], number_: int) -> plt.Figure:
    """Figures 2 and 4: the paper's loss plots above the re-run's, its last batch per epoch and its epoch mean."""
    shown = [m for m in models if m in cells.index]
    fig, axes = plt.subplots(2, len(shown), figsize=(3.6 * len(shown), 6.2), squeeze=False)
    for column, model in enumerate(shown):
        _paper_image(axes[0, column], PAPER_FILES[model].losses)
        axes[0, column].set_title(f"{model}: the paper", fontsize=10)
        _loss_panel(
            axes[1, column], cell_epochs(frames, cells.loc[model]), model, f"re-run ({_where(cells.loc[model])})"
        )
    what = "generator and discriminator loss" if number_ == 2 else "ELBO loss (negative, nats per image)"
    fig.suptitle(f"Figure {number_}, re-drawn: {what} against epoch")
    fig.tight_layout()
    return fig


def cell_epochs(frames: ProfileFrames, cell: pd.Series) -> pd.DataFrame:
    return frames.epochs[frames.epochs.cell_id == cell.cell_id].sort_values("epoch")


NOISE_FACTOR = 3.0
"""A last-batch curve whose typical epoch-to-epoch change is this many times its epoch mean's swings with one batch."""


def swings(frames: ProfileFrames, cells: pd.DataFrame, models: tuple[str, ...]) -> list[str]:
    """`swing` of each loss of each model's protocol cell that recorded its last batch, after its first epoch."""
    lines = []
    for model in (m for m in models if m in cells.index):
        epochs = cell_epochs(frames, cells.loc[model]).iloc[1:]
        lines += [
            swing(model, loss, epochs)
            for loss in get_spec(model).family.loss_names
            if epochs[f"{loss}_last"].notna().any()
        ]
    return lines


def swing(model: str, loss: str, epochs: pd.DataFrame) -> str:
    """How far a loss's last batch and its epoch mean move over `epochs`, and which moves are one batch's noise (the
    last batch's typical epoch-to-epoch change `NOISE_FACTOR` times the mean's or more) and which are learning (the
    epoch mean's drift)."""
    last, mean = epochs[f"{loss}_last"], epochs[loss]
    step_last, step_mean = last.diff().abs().median(), mean.diff().abs().median()
    verdict = (
        "the swings are one batch's noise; the epoch mean's drift is the learning"
        if step_last >= NOISE_FACTOR * step_mean
        else "the last batch moves with the epoch mean: its swings are the learning, not one batch's noise"
    )
    return (
        f"{model}, {LOSSES[loss]}: the last batch ranges {number(last.min(), 'loss')}–{number(last.max(), 'loss')} "
        f"over epochs {int(epochs.epoch.min())}–{int(epochs.epoch.max())}, a typical change of "
        f"{number(step_last, 'spread')} from one epoch to the next, against {number(step_mean, 'spread')} for the "
        f"epoch mean, which goes from {number(mean.iloc[0], 'loss')} to {number(mean.iloc[-1], 'loss')}: {verdict}"
    )


def reconstructions_figure(frames: ProfileFrames, cells: pd.DataFrame) -> plt.Figure:
    """Figure 3: per VAE, the paper's test images and reconstructions, the re-run's, and its samples of the prior."""
    models = [m for m in VAES if m in cells.index]
    titles = [
        "paper: test images",
        "paper: reconstructed",
        "re-run: test images",
        "re-run: reconstructed",
        "re-run: prior",
    ]
    fig, axes = plt.subplots(len(models), 5, figsize=(14, 3.3 * len(models)), squeeze=False)
    for row, model in enumerate(models):
        arrays = saved_samples(frames.root, cells.loc[model])
        _paper_image(axes[row, 0], PAPER_FILES[model].real)
        _paper_image(axes[row, 1], PAPER_FILES[model].samples)
        for column, key in ((2, "inputs"), (3, "reconstructed"), (4, "generated")):
            _grid(axes[row, column], arrays[key])
        for column, title in enumerate(titles):
            axes[row, column].set_title(f"{model}: {title}", fontsize=8)
    fig.suptitle("Figure 3, re-drawn: 16 test images and their reconstructions per VAE, and samples of the prior")
    fig.tight_layout(h_pad=2.0)  # a row's titles clear the framed grids of the row above
    return fig


def scores_table(frames: ProfileFrames, cells: pd.DataFrame) -> pd.DataFrame:
    """The judge's numbers of the paper's 16 digits per figure beside the re-run's (its scored samples)."""
    if not PAPER_SCORES.is_file():
        return pd.DataFrame()
    paper = pd.read_csv(PAPER_SCORES).pivot_table(index="figure", columns="metric", values="value")
    scored = frames.scored.set_index("cell_id")
    rows = []
    for model in (*GANS, *VAES):
        if model not in cells.index or cells.loc[model].cell_id not in scored.index:
            continue
        mine, theirs = scored.loc[cells.loc[model].cell_id], paper.loc[PAPER_FILES[model].samples]
        row = {"model": model, "paper: readable": theirs.readable_share, "re-run: readable": mine.get("readable_share")}
        row |= {"paper: sure (judge alone)": theirs.confident_share, "re-run: sure": mine.get("confident_share")}
        row |= {"paper: digits read": theirs.digits_read, "re-run: digits drawn": mine.get("digits_covered")}
        row |= {"paper: haze": theirs.haze_share, "re-run: haze": mine.get("haze_share")}
        row |= {"paper: speckle": theirs.speckle_share, "re-run: speckle": mine.get("speckle_share")}
        row["re-run: reconstructions read right"] = mine.get("recon_accuracy")
        rescored = mine.get("rescored_images", np.nan)
        row["re-run: images scored"] = mine.get("quality_images") if pd.isna(rescored) else rescored
        row["re-run: cell"] = _where(cells.loc[model])
        rows.append(row)
    return pd.DataFrame(rows)


def glance(frames: ProfileFrames) -> list[Block]:
    return []


def blocks(frames: ProfileFrames) -> list[Block]:
    cells = protocol_cells(frames)
    if cells.empty or not FIGURES.is_dir():
        return []
    frames.folder.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(FIGURES / "LICENSE", frames.folder.parent / LICENSE)
    page: list[Block] = [
        Heading("The paper's figures, re-drawn", 3),
        Text(
            "Each of the paper's figures above (or left of) the same plot from this run's protocol cells: each model "
            "at its authors' learning rate, 50 epochs on all 60,000 images. " + NOTICE
        ),
    ]
    shown = {1: GANS, 2: GANS, 3: VAES, 4: VAES}
    drawn = [
        (
            1,
            samples_figure,
            "the re-run's 16 are the first of its fixed-noise samples, at fixed grey levels 0–255; the paper's figure "
            "stretched each digit to its own grey range",
        ),
        (
            2,
            lambda f, c: losses_figure(f, c, GANS, 2),
            "none in what is drawn: as the authors' scripts, the re-run plots each epoch's last-batch loss "
            "(`<loss>_last` in epochs.csv); it adds the epoch mean, dashed",
        ),
        (
            3,
            reconstructions_figure,
            "the re-run's 16 test images are the test set's first, the paper's another draw; the re-run adds "
            "samples of the prior, which the paper does not show",
        ),
        (
            4,
            lambda f, c: losses_figure(f, c, VAES, 4),
            "none in what is drawn: the re-run plots each epoch's last-batch negative ELBO per image, as the authors' "
            "scripts, and adds the epoch mean, dashed (the paper's caption, as printed, repeats Figure 3's)",
        ),
    ]
    for number_, draw, differs in drawn:
        if not any(m in cells.index for m in shown[number_]):
            continue
        fig = draw(frames, cells)
        page.append(Figure(figures.save(fig, frames.folder, f"paper-figure-{number_}"), f"Figure {number_}, re-drawn"))
        page.append(Text(f'The paper\'s Figure {number_}: "{CAPTIONS[number_]}" What differs: {differs}.'))
        if number_ in (2, 4):
            page.append(Bullets(swings(frames, cells, shown[number_])))
    table = scores_table(frames, cells)
    if len(table):
        page += [
            Text(
                "The judge's numbers of the paper's 16 digits per figure beside those of the re-run cell drawn in "
                "its figures (readable: sure and on the digit manifold; `images scored`: the samples its readable, "
                "haze and speckle were measured on, the 2,000 saved ones where they were measured after the run by "
                "`gvbench rescore`). A VAE's paper figure shows reconstructions of test digits, the re-run's samples "
                "come from the prior; how the judge reads the re-run's reconstructions is its own column:"
            ),
            Table(table, "value"),
        ]
    return page


def csvs(frames: ProfileFrames) -> dict[str, pd.DataFrame]:
    return {}
