"""The paper's four claims, split into their parts, decided only from cells that follow the protocol they speak of.

A claim speaks of the end of the paper's training: 50 epochs on all 60,000 images (`--profile paper`), each model at
its authors' learning rate (`ModelSpec.paper_lr`). Cells of any other profile, or at other learning rates, decide
nothing: their claims read `undecided`, with the reason. Each part is decided at its threshold and at every value
of a reasonable range around it: a verdict that flips inside the range is `undecided`, and says where it flips.
A part is also decided on every combination of the models' single cells (one cell per model, across seeds and
backends), not only on their medians: a part the replicates disagree on is `undecided`, and says so.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from architectures import get_spec
from architectures.judge import CONTROLS
from suite.report.formatting import lr_label, number
from suite.report.frames import ProfileFrames
from suite.report.page import Block, Heading, Table, Text
from suite.report.paper import GANS, PROTOCOL, VAES
from suite.report.quality_frames import reference
from suite.sample_metrics import CUTOFFS, PAIRS, recon_pair_name

SUPPORTED, PARTLY, CONTRADICTED, UNDECIDED = "supported", "partly supported", "contradicted", "undecided"
MIN_MISREAD = 50
"""Claim 4 needs at least this many reconstructions the judge reads as another digit."""
MAX_COMBINATIONS = 4096
"""Past this many combinations of the models' cells, a part is tried on this many drawn at random (seed 0)."""
JUDGE_ALONE = "verdict with the judge alone"
"""The column giving each verdict as it would be if readable meant only that the judge is sure (p ≥ 0.9)."""
CUTOFF_COLUMN = "verdict at judge cutoffs " + " / ".join(f"{c:g}" for c in CUTOFFS)
"""Each part's verdict with the readable share measured at each of `CUTOFFS` instead of 0.9."""


@dataclass(frozen=True)
class Threshold:
    """A threshold a part is decided at, and the range of values it is also tried at."""

    what: str
    value: float
    low: float
    high: float
    fmt: str = ".2f"

    def tried(self) -> np.ndarray:
        """The values the verdict is tried at: the range in nine steps, and the threshold itself."""
        return np.unique(np.append(np.linspace(self.low, self.high, 9), self.value))


RECOGNISABLE = Threshold("readable share that counts as recognisable", 0.5, 0.3, 0.7)
"""A model draws recognisable digits when at least this share of its samples is readable (on the digit manifold)."""
HAZY = Threshold("multiple of the real digits' haze that counts as hazy", 1.5, 1.25, 2.0)
SAME_FD = Threshold("ratio of Fréchet distances that counts as alike", 1.25, 1.1, 1.5)
SAME_READABLE = Threshold("gap in readable share that counts as alike", 0.10, 0.05, 0.20)
CLAIMED_PAIRS = ("2↔3", "4↔9")
"""The pairs claim 4 names."""
TOP_PAIRS = Threshold("number of top pairs that count as confused most", 5, 3, 10, ".0f")


@dataclass(frozen=True)
class Part:
    """One part of a claim: its words, the threshold it hangs on (None: a plain comparison), and its test."""

    claim: str
    words: str
    threshold: Threshold | None
    holds: Callable[[dict, float], bool | None]
    """Given the models' values and a threshold value: True, False, or None where the values cannot say."""
    evidence: Callable[[dict], str]


def protocol_cells(scored: pd.DataFrame, variant: str) -> tuple[dict[str, pd.DataFrame], str | None]:
    """Per model, its protocol cells (paper profile, its authors' rate, Keras, default compile mode); and why no
    claim can be decided here (None where one can)."""
    cells = scored[(scored.variant == variant) & (scored.impl == "keras") & (scored.jit == "auto")]
    if cells.empty:
        return {}, "no ok cell of this variant has quality metrics"
    profiles = set(cells.profile)
    if profiles != {PROTOCOL}:
        return {}, (
            f"Claims are decided only at the end of the paper's protocol (--profile {PROTOCOL}: 50 epochs on all "
            f"60,000 images, each model at its authors' learning rate); these are {', '.join(sorted(profiles))} cells"
        )
    found = {}
    for model, group in cells.groupby("model"):
        at_rate = group[np.isclose(group.lr, get_spec(model).paper_lr)]
        if len(at_rate):
            found[model] = at_rate
    return found, None


def _row(model: str, values: pd.Series, cells: int) -> dict:
    return values.to_dict() | {"cells": cells, "lr": get_spec(model).paper_lr}


def medians(found: dict[str, pd.DataFrame]) -> dict:
    """Per model, the medians over backends and seeds of its protocol cells, with how many cells and their range."""
    values = {}
    for model, cells in found.items():
        numbers = cells.select_dtypes("number")
        spread = {col: (float(numbers[col].min()), float(numbers[col].max())) for col in numbers}
        values[model] = _row(model, numbers.median(), len(cells)) | {"spread": spread}
    return values


def protocol_values(scored: pd.DataFrame, variant: str) -> tuple[dict, str | None]:
    """Per model, the medians of its protocol cells (`medians`); and why no claim can be decided here (None where one
    can)."""
    found, why = protocol_cells(scored, variant)
    return medians(found), why


def replicate_values(found: dict[str, pd.DataFrame]) -> tuple[list[dict], int]:
    """Every combination of one protocol cell per model, as values like `medians`' (at most `MAX_COMBINATIONS` of
    them, drawn at random past that); and how many combinations there are."""
    if not found:
        return [], 0
    rows = {m: [_row(m, r, 1) for _, r in c.select_dtypes("number").iterrows()] for m, c in found.items()}
    total = int(np.prod([len(r) for r in rows.values()]))
    if total <= MAX_COMBINATIONS:
        picks = list(itertools.product(*(range(len(r)) for r in rows.values())))
    else:
        rng = np.random.default_rng(0)
        picks = [tuple(int(rng.integers(len(r))) for r in rows.values()) for _ in range(MAX_COMBINATIONS)]
    models = list(rows)
    return [{m: rows[m][i] for m, i in zip(models, pick, strict=True)} for pick in picks], total


def _value(values: dict, model: str, metric: str) -> float:
    return float(values.get(model, {}).get(metric, np.nan))


def _readable(values: dict, model: str) -> float:
    return _value(values, model, "readable_share")


def _recognisable(values: dict, model: str, t: float) -> bool | None:
    share = _readable(values, model)
    return None if np.isnan(share) else bool(share >= t)


def _fails(values: dict, model: str, t: float) -> bool | None:
    found = _recognisable(values, model, t)
    return None if found is None else not found


def _vaes_more_readable(values: dict, _: float) -> bool | None:
    vaes, gans = [_readable(values, m) for m in VAES], [_readable(values, m) for m in GANS]
    if np.isnan(vaes + gans).any():
        return None
    return min(vaes) > max(gans)


def _vaes_hazy(values: dict, times: float, real_haze: float) -> bool | None:
    haze = [_value(values, m, "haze_share") for m in VAES]
    if np.isnan(haze).any() or np.isnan(real_haze):
        return None
    return min(haze) >= times * real_haze


def _gans_sharper(values: dict, t: float) -> bool | None:
    """Each GAN that draws recognisable digits (at the recognisable threshold) is less hazy than each VAE."""
    drawing = [m for m in GANS if _recognisable(values, m, RECOGNISABLE.value)]
    vae_haze = [_value(values, m, "haze_share") for m in VAES]
    if not drawing or np.isnan(vae_haze).any():
        return None
    return max(_value(values, m, "haze_share") for m in drawing) < min(vae_haze)


def _alike_fd(values: dict, ratio: float) -> bool | None:
    a, b = (_value(values, m, "frechet_distance") for m in VAES)
    return None if np.isnan([a, b]).any() else max(a, b) / min(a, b) <= ratio


def _alike_readable(values: dict, gap: float) -> bool | None:
    a, b = (_readable(values, m) for m in VAES)
    return None if np.isnan([a, b]).any() else abs(a - b) <= gap


def misreadings(values: dict) -> pd.DataFrame:
    """Digit pairs the judge misreads the VAEs' reconstructions between (either way), by share, mean over VAEs."""
    rows = []
    for a, b in PAIRS:
        shares = [_value(values, m, recon_pair_name(a, b)) for m in VAES]
        rows.append({"pair": f"{a}↔{b}", "share": float(np.mean(shares))})
    frame = pd.DataFrame(rows).sort_values("share", ascending=False, kind="stable").reset_index(drop=True)
    images = sum(_value(values, m, "recon_images") * (1 - _value(values, m, "recon_accuracy")) for m in VAES)
    return frame.assign(rank=frame.index + 1, misread=images)


def judges_own(values: dict, path: Path = CONTROLS) -> str | None:
    """Claim 4's control: how the judge misreads real test digits blurred to the VAEs' haze (`suite.controls`), set
    beside how it misreads the VAEs' reconstructions (None without both)."""
    found = misreadings(values)
    if not path.is_file() or found.share.isna().any():
        return None
    controls = pd.read_csv(path)
    blurred = controls[controls.control.str.startswith("test digits")]
    wide = blurred.pivot_table(index="control", columns="metric", values="value")
    haze = float(np.nanmedian([_value(values, m, "haze_share") for m in VAES]))
    if "recon_accuracy" not in wide or np.isnan(haze):
        return None
    near = (wide.haze_share - haze).abs().idxmin()
    own = pd.Series({f"{a}↔{b}": wide.at[near, recon_pair_name(a, b)] for a, b in PAIRS}).sort_values(ascending=False)
    vae = found.set_index("pair").share
    top = ", ".join(f"{pair} {number(share, '.4f')}" for pair, share in own.head(4).items())
    pairs = "; ".join(
        f"{pair}: the judge {number(own[pair], '.4f')} (rank {int(own.index.get_loc(pair)) + 1}), the VAEs' "
        f"reconstructions {number(vae[pair], '.4f')}"
        for pair in CLAIMED_PAIRS
    )
    return (
        f"Claim 4's control: the judge reads {near} (haze {number(wide.at[near, 'haze_share'], '.3f')}, the nearest "
        f"of the blur ladder to the VAEs' samples' median haze {number(haze, '.3f')}) as their own digit "
        f"{number(wide.at[near, 'recon_accuracy'], '.3f')} of the time; its own commonest misreadings there: {top}. "
        f"{pairs}. A pair the VAEs' reconstructions are misread between far more often than hazy real digits is "
        "the VAEs' confusion, not the judge's (the reconstructions' own haze is not measured; their samples' is)."
    )


def _pair_in_top(pair: str) -> Callable[[dict, float], bool | None]:
    def holds(values: dict, k: float) -> bool | None:
        found = misreadings(values)
        if found.share.isna().any() or not found.misread.iloc[0] >= MIN_MISREAD:
            return None
        return int(found.set_index("pair").loc[pair, "rank"]) <= k

    return holds


def _listed(values: dict, models: tuple[str, ...], metric: str, fmt: str = ".3f") -> str:
    """`DenseVAE 0.900, CNNVAE not run`: each model's value of `metric`."""
    texts = []
    for model in models:
        value = _value(values, model, metric)
        low, high = values.get(model, {}).get("spread", {}).get(metric, (value, value))
        text = f"{model} {'not run' if np.isnan(value) else number(value, fmt)}"
        cells = int(values[model]["cells"]) if model in values else 0
        if cells == 1:
            text += " (one cell)"
        elif cells and low != high:
            text += f" ({number(low, fmt)}–{number(high, fmt)} over {cells} cells)"
        elif cells:
            text += f" (all {cells} cells)"
        texts.append(text)
    return ", ".join(texts)


def _shares(values: dict, models: tuple[str, ...]) -> str:
    return _listed(values, models, "readable_share")


def _haze(values: dict, models: tuple[str, ...]) -> str:
    return _listed(values, models, "haze_share")


def _pair_evidence(pair: str) -> Callable[[dict], str]:
    def text(values: dict) -> str:
        missing = [m for m in VAES if m not in values]
        if missing:
            return f"needs both VAEs' reconstructions: {', '.join(missing)} not run"
        found = misreadings(values)
        if found.share.isna().any():
            return "needs the reading of both VAEs' reconstructions (gvbench rescore)"
        rank = int(found.set_index("pair").loc[pair, "rank"])
        top = ", ".join(f"{r.pair} {number(r.share, '.4f')}" for r in found.head(5).itertuples())
        cells = ", ".join(f"{m} {int(values[m]['cells'])}" for m in VAES)
        return (
            f"{pair} ranks {rank} of {len(found)} pairs among {number(found.misread.iloc[0], ',.0f')} misread "
            f"reconstructions of test digits (cells: {cells}); top: {top}"
        )

    return text


def parts(real_haze: float) -> list[Part]:
    """Every part of the four claims."""
    one, two = (
        "1. CNNGAN produces recognisable digits; DenseGAN and DenseGAN-Deep fail to.",
        ("2. Both VAEs are more readable than the GANs; VAE images are hazier, GAN images sharper."),
    )
    three, four = (
        "3. The dense VAE is about as good as the convolutional one.",
        "4. The VAEs confuse 2 with 3 and 4 with 9.",
    )
    return [
        Part(
            one,
            "CNNGAN draws recognisable digits",
            RECOGNISABLE,
            lambda v, t: _recognisable(v, "CNNGAN", t),
            lambda v: f"readable share {_shares(v, ('CNNGAN',))}",
        ),
        Part(
            one,
            "DenseGAN fails to",
            RECOGNISABLE,
            lambda v, t: _fails(v, "DenseGAN", t),
            lambda v: f"readable share {_shares(v, ('DenseGAN',))}",
        ),
        Part(
            one,
            "DenseGAN-Deep fails to",
            RECOGNISABLE,
            lambda v, t: _fails(v, "DenseGAN-Deep", t),
            lambda v: f"readable share {_shares(v, ('DenseGAN-Deep',))}",
        ),
        Part(
            two,
            "both VAEs are more readable than every GAN",
            None,
            _vaes_more_readable,
            lambda v: (
                f"readable share of samples {_shares(v, VAES + GANS)}; the VAEs' reconstructions of test digits "
                f"(what the paper's Figure 3 shows) read as their own digit: {_listed(v, VAES, 'recon_accuracy')}"
            ),
        ),
        Part(
            two,
            "VAE images are hazy",
            HAZY,
            lambda v, t: _vaes_hazy(v, t, real_haze),
            lambda v: f"haze {_haze(v, VAES)}; real digits {number(real_haze, '.3f')}",
        ),
        Part(
            two,
            "GAN images are sharper (each GAN that draws digits less hazy than each VAE)",
            None,
            _gans_sharper,
            lambda v: f"haze {_haze(v, GANS + VAES)}",
        ),
        Part(
            three,
            "their Fréchet distances are alike",
            SAME_FD,
            _alike_fd,
            lambda v: f"Fréchet distance {_listed(v, VAES, 'frechet_distance', '.3g')}",
        ),
        Part(
            three,
            "their readable shares are alike",
            SAME_READABLE,
            _alike_readable,
            lambda v: f"readable share {_shares(v, VAES)}",
        ),
        *(
            Part(
                four,
                f"{pair} is among the pairs they confuse most",
                TOP_PAIRS,
                _pair_in_top(pair),
                _pair_evidence(pair),
            )
            for pair in CLAIMED_PAIRS
        ),
    ]


def _agreed(part: Part, value: float, medians: dict, replicates: list[dict]) -> bool | str | None:
    """Whether the part holds at one threshold value on the medians and on every combination of cells: True or
    False where all agree, "mixed" where the replicates disagree, None where values are missing."""
    found = [part.holds(v, value) for v in [medians, *replicates]]
    if any(f is None for f in found):
        return None
    return found[0] if len(set(found)) == 1 else "mixed"


def _combinations(replicates: list[dict], total: int) -> str:
    if total <= 1:
        return "one cell per model"
    tried = f"{len(replicates):,} drawn from {total:,}" if len(replicates) < total else f"all {total:,}"
    return f"on {tried} combinations of one cell per model"


def sensitivity(part: Part, values: dict, replicates: list[dict] | None = None, total: int = 0) -> tuple[str, str]:
    """The part's verdict and how it moves across its threshold's range and across the models' cells."""
    replicates = replicates or []
    where = _combinations(replicates, total)
    if part.threshold is None:
        found = _agreed(part, np.nan, values, replicates)
        if found is None:
            return UNDECIDED, "the values it needs are missing"
        if found == "mixed":
            return UNDECIDED, "the cells disagree: it holds on some combinations of one cell per model, not on all"
        return (SUPPORTED if found else CONTRADICTED), f"no threshold; {where}"
    t = part.threshold
    results = {float(x): _agreed(part, float(x), values, replicates) for x in t.tried()}
    span = f"from {number(t.low, t.fmt)} to {number(t.high, t.fmt)}"
    if any(r is None for r in results.values()):
        return UNDECIDED, "the values it needs are missing"
    at_value = results[float(t.value)]
    if at_value == "mixed":
        return UNDECIDED, (
            f"the cells disagree at {number(t.value, t.fmt)}: it holds on some combinations of one cell per model, "
            "not on all"
        )
    if all(r is True for r in results.values()):
        return SUPPORTED, f"holds for any {t.what} {span}, {where}"
    if all(r is False for r in results.values()):
        return CONTRADICTED, f"fails for any {t.what} {span}, {where}"
    flip = next(x for x, r in results.items() if r != at_value)
    moved = "holds on some cells, not on all" if results[flip] == "mixed" else ("fails" if at_value else "holds")
    return UNDECIDED, (
        f"flips for a {t.what} {span}: {'holds' if at_value else 'fails'} at {number(t.value, t.fmt)}, "
        f"{moved} at {number(flip, t.fmt)}"
    )


def claim_verdict(verdicts: list[str]) -> str:
    """A claim's verdict from its parts': all supported, all contradicted, some of each (partly supported), or
    undecided while an undecided part could still turn it."""
    if all(v == SUPPORTED for v in verdicts):
        return SUPPORTED
    if all(v == CONTRADICTED for v in verdicts):
        return CONTRADICTED
    return PARTLY if SUPPORTED in verdicts and CONTRADICTED in verdicts else UNDECIDED


def judge_alone(values: dict) -> dict:
    """The same values with the readable share replaced by the judge alone's (`confident_share`): readable as the
    measure was before it asked for the digit manifold, to show which verdicts the new measure moves."""
    return {m: v | {"readable_share": v.get("confident_share", np.nan)} for m, v in values.items()}


def at_cutoff(values: dict, cutoff: float) -> dict:
    """The same values with the readable share measured at another judge cutoff (NaN where it was not)."""
    return {m: v | {"readable_share": v.get(f"readable_share_at_{cutoff:g}", np.nan)} for m, v in values.items()}


def across_cutoffs(part: Part, verdict: str, values: dict, replicates: list[dict], total: int) -> tuple[str, str]:
    """The part's verdict at each of `CUTOFFS` (as text), and its verdict over them all: undecided where a cutoff
    whose readable shares were measured gives another."""
    found = [sensitivity(part, at_cutoff(values, c), [at_cutoff(r, c) for r in replicates], total)[0] for c in CUTOFFS]
    measured = [
        v for c, v in zip(CUTOFFS, found, strict=True) if any(f"readable_share_at_{c:g}" in m for m in values.values())
    ]
    text = " / ".join(found) if measured else "not measured"
    return text, verdict if all(v == verdict for v in measured) else UNDECIDED


def claims(scored: pd.DataFrame, variant: str, real_haze: float) -> pd.DataFrame:
    """Each claim's verdict (its `part` empty) and each of its parts', from one variant's protocol cells, over its
    threshold's range and the judge's cutoffs; beside each, its verdict at each cutoff and the one it would have
    with the judge alone deciding what is readable."""
    found_cells, why = protocol_cells(scored, variant)
    values, (replicates, total) = medians(found_cells), replicate_values(found_cells)
    alone, alone_replicates = judge_alone(values), [judge_alone(r) for r in replicates]
    rows = []
    for claim in dict.fromkeys(p.claim for p in parts(real_haze)):
        found = []
        for part in (p for p in parts(real_haze) if p.claim == claim):
            if why:
                verdict, range_text, evidence, before, cutoffs = UNDECIDED, "", "", UNDECIDED, ""
            else:
                verdict, range_text = sensitivity(part, values, replicates, total)
                cutoffs, over_cutoffs = across_cutoffs(part, verdict, values, replicates, total)
                if over_cutoffs != verdict:
                    verdict, range_text = over_cutoffs, f"{range_text}; flips with the judge's cutoff"
                evidence, before = part.evidence(values), sensitivity(part, alone, alone_replicates, total)[0]
            found.append(
                {
                    "claim": claim,
                    "part": part.words,
                    "verdict": verdict,
                    "evidence": evidence,
                    "threshold": range_text,
                    CUTOFF_COLUMN: cutoffs,
                    JUDGE_ALONE: before,
                }
            )
        rows.append(
            {
                "claim": claim,
                "part": "",
                "verdict": claim_verdict([f["verdict"] for f in found]),
                "evidence": why or "",
                "threshold": "",
                CUTOFF_COLUMN: "",
                JUDGE_ALONE: claim_verdict([f[JUDGE_ALONE] for f in found]),
            }
        )
        rows += found
    return pd.DataFrame(rows)


def cells_text(values: dict) -> str:
    """Which cells the claims read: per model its learning rate and cells."""
    counts = {m: int(v["cells"]) for m, v in values.items()}
    return "; ".join(
        f"{m} lr {lr_label(v['lr'])} ({counts[m]} cell{'s' if counts[m] > 1 else ''})" for m, v in values.items()
    )


def single_cells_text(values: dict) -> str:
    """Which models' verdicts rest on one cell, whose seed-to-seed spread is therefore unmeasured."""
    single = [m for m, v in values.items() if int(v["cells"]) == 1]
    if not single:
        return ""
    if len(single) == 1:
        return f" {single[0]} ran one cell, so how much its values move from seed to seed is not measured here."
    return f" {', '.join(single)} ran one cell each, so how much their values move from seed to seed is not measured."


def learning_rate_contrast(scored: pd.DataFrame, variant: str) -> pd.DataFrame:
    """Every GAN's readable share at every learning rate of the protocol profile: architecture against learning
    rate, apart from the verdicts."""
    cells = scored[(scored.variant == variant) & (scored.profile == PROTOCOL) & scored.model.isin(GANS)]
    if cells.empty or "readable_share" not in cells:
        return pd.DataFrame()
    table = cells.groupby(["model", "lr"], as_index=False).agg(
        cells=("readable_share", "size"),
        readable_share=("readable_share", "median"),
        frechet_distance=("frechet_distance", "median"),
    )
    table["authors' rate"] = [np.isclose(r.lr, get_spec(r.model).paper_lr) for r in table.itertuples()]
    return table.assign(lr=table.lr.map(lr_label))


def real_digits_haze(profile: str) -> float:
    ref = reference(profile)
    return float(ref.loc["real", "haze_share"]) if len(ref) and "haze_share" in ref.columns else np.nan


def verdicts(frames: ProfileFrames) -> list[tuple[str, pd.DataFrame]]:
    """Per variant: the claims and their parts, once."""
    frame = frames.scored
    haze = real_digits_haze(frames.profile)
    return frames.once("claims", lambda f: [(v, claims(frame, v, haze)) for v in sorted(frame.variant.unique())])


def blocks(frames: ProfileFrames) -> list[Block]:
    """The claims of one profile, a table per variant (none without quality metrics)."""
    page: list[Block] = []
    for variant, found in verdicts(frames) if len(frames.scored) else []:
        values, why = protocol_values(frames.scored, variant)
        scope = (
            why
            if why
            else f"From the protocol's cells: {cells_text(values)}; medians over backends and seeds. Each part is "
            "decided on those medians and on every combination of one cell per model, at its threshold and across "
            "the range shown; a part that flips inside the range, or that the cells disagree on, is undecided."
            + single_cells_text(values)
        )
        page += [Heading(f"The paper's claims, checked (variant `{variant}`)", 3), Text(scope), Table(found)]
        misread = misreadings(values) if values else pd.DataFrame()
        if len(misread) and misread.share.notna().all():
            page += [
                Text("Digit pairs the judge misreads the VAEs' reconstructions of test digits between (either way):"),
                Table(misread.head(10)[["rank", "pair", "share"]]),
            ]
            control = judges_own(values)
            if control:
                page.append(Text(control))
        contrast = learning_rate_contrast(frames.scored, variant)
        if len(contrast) and contrast.lr.nunique() > 1:
            page += [
                Text("The GANs at every learning rate run (not a verdict: architecture against learning rate):"),
                Table(contrast, ".3g"),
            ]
    return page


def glance(frames: ProfileFrames) -> list[Block]:
    return []


def csvs(frames: ProfileFrames) -> dict[str, pd.DataFrame]:
    if frames.scored.empty:
        return {"claims.csv": pd.DataFrame()}
    found = [v.assign(profile=frames.profile, variant=variant) for variant, v in verdicts(frames)]
    return {"claims.csv": pd.concat(found, ignore_index=True)}
