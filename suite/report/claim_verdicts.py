"""The paper's four claims, decided: data in, verdicts out, no text (the claims section words them).

A claim speaks of the end of the paper's training: 50 epochs on all 60,000 images (`--profile paper`), each model at
its authors' learning rate (`ModelSpec.paper_lr`). Cells of any other profile, or at other learning rates, decide
nothing: their claims are `undecided`, with the reason. Each part is decided at its threshold and at every value
of a reasonable range around it: a verdict that flips inside the range is `undecided`, with where it flips.
A part is also decided on every combination of the models' single cells (one cell per model, across seeds and
backends), not only on their medians: a part the replicates disagree on is `undecided`.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from architectures import get_spec
from suite.paper import GANS, PROTOCOL, VAES
from suite.sample_metrics import CUTOFFS, PAIRS, readable_at, recon_pair_name

SUPPORTED, PARTLY, CONTRADICTED, UNDECIDED = "supported", "partly supported", "contradicted", "undecided"
MIN_MISREAD = 50
"""Claim 4 needs at least this many reconstructions the judge reads as another digit."""
MAX_COMBINATIONS = 4096
"""Past this many combinations of the models' cells, a part is tried on this many drawn at random (seed 0)."""


@dataclass(frozen=True)
class Threshold:
    """A threshold a part is decided at, and the range of values it is also tried at."""

    what: str
    value: float
    low: float
    high: float
    kind: str = "tried"
    """How its values print (`suite.formatting.KINDS`)."""

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
TOP_PAIRS = Threshold("number of top pairs that count as confused most", 5, 3, 10, "count")
CLAIMS = (
    "1. CNNGAN produces recognisable digits; DenseGAN and DenseGAN-Deep fail to.",
    "2. Both VAEs are more readable than the GANs; VAE images are hazier, GAN images sharper.",
    "3. The dense VAE is about as good as the convolutional one.",
    "4. The VAEs confuse 2 with 3 and 4 with 9.",
)
"""The paper's four claims, as the report quotes them."""


@dataclass(frozen=True)
class Part:
    """One part of a claim: its words, the threshold it hangs on (None: a plain comparison), and its test."""

    claim: str
    words: str
    threshold: Threshold | None
    holds: Callable[[dict, float], bool | None]
    """Given the models' values and a threshold value: True, False, or None where the values cannot say."""


@dataclass(frozen=True)
class Scope:
    """Which cells a variant's claims read: per model its protocol cells, or why none can decide."""

    cells: dict[str, pd.DataFrame]
    other_profiles: tuple[str, ...] | None = None
    """The profiles of the cells when none is the protocol's (empty: no cell has quality metrics); None: decidable."""


def protocol_cells(scored: pd.DataFrame, variant: str) -> Scope:
    """Per model, its protocol cells (paper profile, its authors' rate, Keras, default compile mode)."""
    cells = scored[(scored.variant == variant) & (scored.impl == "keras") & (scored.jit == "auto")]
    if cells.empty:
        return Scope({}, ())
    profiles = set(cells.profile)
    if profiles != {PROTOCOL}:
        return Scope({}, tuple(sorted(profiles)))
    found = {}
    for model, group in cells.groupby("model"):
        at_rate = group[np.isclose(group.lr, get_spec(model).paper_lr)]
        if len(at_rate):
            found[model] = at_rate
    return Scope(found)


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


def value_of(values: dict, model: str, metric: str) -> float:
    """A model's value of `metric` (NaN where the model or the metric is missing)."""
    return float(values.get(model, {}).get(metric, np.nan))


def _readable(values: dict, model: str) -> float:
    return value_of(values, model, "readable_share")


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
    haze = [value_of(values, m, "haze_share") for m in VAES]
    if np.isnan(haze).any() or np.isnan(real_haze):
        return None
    return min(haze) >= times * real_haze


def _gans_sharper(values: dict, t: float) -> bool | None:
    """Each GAN that draws recognisable digits (at the recognisable threshold) is less hazy than each VAE."""
    drawing = [m for m in GANS if _recognisable(values, m, RECOGNISABLE.value)]
    vae_haze = [value_of(values, m, "haze_share") for m in VAES]
    if not drawing or np.isnan(vae_haze).any():
        return None
    return max(value_of(values, m, "haze_share") for m in drawing) < min(vae_haze)


def _alike_fd(values: dict, ratio: float) -> bool | None:
    a, b = (value_of(values, m, "frechet_distance") for m in VAES)
    return None if np.isnan([a, b]).any() else max(a, b) / min(a, b) <= ratio


def _alike_readable(values: dict, gap: float) -> bool | None:
    a, b = (_readable(values, m) for m in VAES)
    return None if np.isnan([a, b]).any() else abs(a - b) <= gap


PAIR_NAMES = tuple(f"{a}↔{b}" for a, b in PAIRS)
PAIR_METRICS = tuple(recon_pair_name(a, b) for a, b in PAIRS)


def pair_shares(values: dict) -> np.ndarray:
    """Each digit pair's share of the VAEs' reconstructions the judge misreads between them (either way), mean over
    the VAEs, in `PAIRS` order."""
    return np.array([sum(value_of(values, m, metric) for m in VAES) / len(VAES) for metric in PAIR_METRICS])


def misread_images(values: dict) -> float:
    """How many of the VAEs' reconstructions the judge reads as another digit."""
    return sum(value_of(values, m, "recon_images") * (1 - value_of(values, m, "recon_accuracy")) for m in VAES)


def misreadings(values: dict) -> pd.DataFrame:
    """Digit pairs the judge misreads the VAEs' reconstructions between (either way), by share, mean over VAEs."""
    shares = pair_shares(values)
    order = np.argsort(-shares, kind="stable")  # ties keep `PAIRS` order
    frame = pd.DataFrame({"pair": np.array(PAIR_NAMES)[order], "share": shares[order]})
    return frame.assign(rank=frame.index + 1, misread=misread_images(values))


def _pair_in_top(pair: str) -> Callable[[dict, float], bool | None]:
    index = PAIR_NAMES.index(pair)

    def holds(values: dict, k: float) -> bool | None:
        shares = pair_shares(values)
        if np.isnan(shares).any() or not misread_images(values) >= MIN_MISREAD:
            return None
        share = shares[index]
        rank = 1 + int((shares > share).sum() + (shares[:index] == share).sum())  # as `misreadings` ranks it
        return rank <= k

    return holds


def parts(real_haze: float) -> list[Part]:
    """Every part of the four claims."""
    one, two, three, four = CLAIMS
    return [
        Part(one, "CNNGAN draws recognisable digits", RECOGNISABLE, lambda v, t: _recognisable(v, "CNNGAN", t)),
        Part(one, "DenseGAN fails to", RECOGNISABLE, lambda v, t: _fails(v, "DenseGAN", t)),
        Part(one, "DenseGAN-Deep fails to", RECOGNISABLE, lambda v, t: _fails(v, "DenseGAN-Deep", t)),
        Part(two, "both VAEs are more readable than every GAN", None, _vaes_more_readable),
        Part(two, "VAE images are hazy", HAZY, lambda v, t: _vaes_hazy(v, t, real_haze)),
        Part(two, "GAN images are sharper (each GAN that draws digits less hazy than each VAE)", None, _gans_sharper),
        Part(three, "their Fréchet distances are alike", SAME_FD, _alike_fd),
        Part(three, "their readable shares are alike", SAME_READABLE, _alike_readable),
        *(
            Part(four, f"{pair} is among the pairs they confuse most", TOP_PAIRS, _pair_in_top(pair))
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


@dataclass(frozen=True)
class Sensitivity:
    """A part's verdict on the medians and every combination of cells, at its threshold and across its range."""

    verdict: str
    why: str
    """`missing` (values it needs are missing), `mixed` (the cells disagree at the threshold), `plain` (no threshold),
    `holds` or `fails` (across the whole range), or `flips` (at `flip`)."""
    combinations: int = 0
    """How many combinations of one cell per model it was tried on."""
    total: int = 0
    """How many combinations there are."""
    at_value: bool | None = None
    """Whether it holds at the threshold (a `flips` part)."""
    flip: float | None = None
    """The first value of the range where it does not do as at the threshold."""
    flip_mixed: bool = False
    """Whether the cells disagree at `flip`."""


def sensitivity(part: Part, values: dict, replicates: list[dict] | None = None, total: int = 0) -> Sensitivity:
    """The part's verdict and how it moves across its threshold's range and across the models' cells."""
    replicates = replicates or []
    tried = dict(combinations=len(replicates), total=total)
    if part.threshold is None:
        found = _agreed(part, np.nan, values, replicates)
        if found is None:
            return Sensitivity(UNDECIDED, "missing", **tried)
        if found == "mixed":
            return Sensitivity(UNDECIDED, "mixed", **tried)
        return Sensitivity(SUPPORTED if found else CONTRADICTED, "plain", **tried)
    t = part.threshold
    results = {float(x): _agreed(part, float(x), values, replicates) for x in t.tried()}
    if any(r is None for r in results.values()):
        return Sensitivity(UNDECIDED, "missing", **tried)
    at_value = results[float(t.value)]
    if at_value == "mixed":
        return Sensitivity(UNDECIDED, "mixed", **tried)
    if all(r is True for r in results.values()):
        return Sensitivity(SUPPORTED, "holds", **tried)
    if all(r is False for r in results.values()):
        return Sensitivity(CONTRADICTED, "fails", **tried)
    flip = next(x for x, r in results.items() if r != at_value)
    return Sensitivity(UNDECIDED, "flips", **tried, at_value=at_value, flip=flip, flip_mixed=results[flip] == "mixed")


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
    return {m: v | {"readable_share": v.get(readable_at(cutoff), np.nan)} for m, v in values.items()}


def across_cutoffs(
    part: Part, verdict: str, values: dict, replicates: list[dict], total: int
) -> tuple[list[str] | None, str]:
    """The part's verdict at each of `CUTOFFS` (None where no cutoff's readable shares were measured), and its verdict
    over them all: undecided where a cutoff whose readable shares were measured gives another."""
    found = [
        sensitivity(part, at_cutoff(values, c), [at_cutoff(r, c) for r in replicates], total).verdict for c in CUTOFFS
    ]
    measured = [v for c, v in zip(CUTOFFS, found, strict=True) if any(readable_at(c) in m for m in values.values())]
    return (found if measured else None), verdict if all(v == verdict for v in measured) else UNDECIDED


@dataclass(frozen=True)
class Decision:
    """One part, decided: at the readable share's judge cutoff 0.9, at the other cutoffs, and with the judge alone."""

    part: Part
    sensitivity: Sensitivity
    verdict: str
    """Its verdict: the sensitivity's, or undecided where another judge cutoff gives another."""
    cutoffs: list[str] | None
    """Its verdict at each of `CUTOFFS` (None where they were not measured)."""
    judge_alone: str
    """Its verdict with the judge alone deciding what is readable."""


def decide(scope: Scope, real_haze: float) -> list[Decision]:
    """Every part of the four claims, decided on the scope's cells (none where the scope cannot decide)."""
    if scope.other_profiles is not None:
        return []
    values, (replicates, total) = medians(scope.cells), replicate_values(scope.cells)
    alone, alone_replicates = judge_alone(values), [judge_alone(r) for r in replicates]
    found = []
    for part in parts(real_haze):
        sense = sensitivity(part, values, replicates, total)
        cutoffs, verdict = across_cutoffs(part, sense.verdict, values, replicates, total)
        before = sensitivity(part, alone, alone_replicates, total).verdict
        found.append(Decision(part, sense, verdict, cutoffs, before))
    return found
