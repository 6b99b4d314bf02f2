"""The paper's four claims, worded: each part's verdict, the evidence it rests on and how it moves, as a table per
variant (the verdicts themselves come from `suite.report.claim_verdicts`)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from architectures import get_spec
from architectures.judge import CONTROLS
from suite.formatting import lr_label, number
from suite.paper import GANS, PROTOCOL, VAES
from suite.report.claim_verdicts import (
    CLAIMED_PAIRS,
    UNDECIDED,
    Decision,
    Part,
    Scope,
    Sensitivity,
    claim_verdict,
    decide,
    medians,
    misreadings,
    parts,
    protocol_cells,
    value_of,
)
from suite.report.frames import ProfileFrames
from suite.report.page import Block, Heading, Table, Text
from suite.report.quality_frames import reference
from suite.sample_metrics import CUTOFFS, PAIRS, recon_pair_name

JUDGE_ALONE = "verdict with the judge alone"
"""The column giving each verdict as it would be if readable meant only that the judge is sure (p ≥ 0.9)."""
CUTOFF_COLUMN = "verdict at judge cutoffs " + " / ".join(number(c, "threshold") for c in CUTOFFS)
"""Each part's verdict with the readable share measured at each of `CUTOFFS` instead of 0.9."""


def why_undecidable(scope: Scope) -> str | None:
    """Why no claim can be decided from a scope's cells (None where they can)."""
    if scope.other_profiles is None:
        return None
    if not scope.other_profiles:
        return "no ok cell of this variant has quality metrics"
    return (
        f"Claims are decided only at the end of the paper's protocol (--profile {PROTOCOL}: 50 epochs on all "
        f"60,000 images, each model at its authors' learning rate); these are {', '.join(scope.other_profiles)} cells"
    )


def judges_own(values: dict, path: Path = CONTROLS) -> str | None:
    """Claim 4's control: how the judge misreads real test digits blurred to the VAEs' haze (`suite.controls`), set
    beside how it misreads the VAEs' reconstructions (None without both)."""
    found = misreadings(values)
    if not path.is_file() or found.share.isna().any():
        return None
    controls = pd.read_csv(path)
    blurred = controls[controls.control.str.startswith("test digits")]
    wide = blurred.pivot_table(index="control", columns="metric", values="value")
    haze = float(np.nanmedian([value_of(values, m, "haze_share") for m in VAES]))
    if "recon_accuracy" not in wide or np.isnan(haze):
        return None
    near = (wide.haze_share - haze).abs().idxmin()
    own = pd.Series({f"{a}↔{b}": wide.at[near, recon_pair_name(a, b)] for a, b in PAIRS}).sort_values(ascending=False)
    vae = found.set_index("pair").share
    top = ", ".join(f"{pair} {number(share, 'share')}" for pair, share in own.head(4).items())
    pairs = "; ".join(
        f"{pair}: the judge {number(own[pair], 'share')} (rank {int(own.index.get_loc(pair)) + 1}), the VAEs' "
        f"reconstructions {number(vae[pair], 'share')}"
        for pair in CLAIMED_PAIRS
    )
    return (
        f"Claim 4's control: the judge reads {near} (haze {number(wide.at[near, 'haze_share'], 'share')}, the nearest "
        f"of the blur ladder to the VAEs' samples' median haze {number(haze, 'share')}) as their own digit "
        f"{number(wide.at[near, 'recon_accuracy'], 'share')} of the time; its own commonest misreadings there: {top}. "
        f"{pairs}. A pair the VAEs' reconstructions are misread between far more often than hazy real digits is "
        "the VAEs' confusion, not the judge's (the reconstructions' own haze is not measured; their samples' is)."
    )


def _listed(values: dict, models: tuple[str, ...], metric: str, kind: str = "share") -> str:
    """`DenseVAE 0.900, CNNVAE not run`: each model's value of `metric`."""
    texts = []
    for model in models:
        value = value_of(values, model, metric)
        low, high = values.get(model, {}).get("spread", {}).get(metric, (value, value))
        text = f"{model} {'not run' if np.isnan(value) else number(value, kind)}"
        cells = int(values[model]["cells"]) if model in values else 0
        if cells == 1:
            text += " (one cell)"
        elif cells and low != high:
            text += f" ({number(low, kind)}–{number(high, kind)} over {cells} cells)"
        elif cells:
            text += f" (all {cells} cells)"
        texts.append(text)
    return ", ".join(texts)


def _shares(values: dict, models: tuple[str, ...]) -> str:
    return _listed(values, models, "readable_share")


def _haze(values: dict, models: tuple[str, ...]) -> str:
    return _listed(values, models, "haze_share")


def _pair_evidence(pair: str) -> Callable[[dict, float], str]:
    def text(values: dict, _: float) -> str:
        missing = [m for m in VAES if m not in values]
        if missing:
            return f"needs both VAEs' reconstructions: {', '.join(missing)} not run"
        found = misreadings(values)
        if found.share.isna().any():
            return "needs the reading of both VAEs' reconstructions (gvbench rescore)"
        rank = int(found.set_index("pair").loc[pair, "rank"])
        top = ", ".join(f"{r.pair} {number(r.share, 'share')}" for r in found.head(5).itertuples())
        cells = ", ".join(f"{m} {int(values[m]['cells'])}" for m in VAES)
        return (
            f"{pair} ranks {rank} of {len(found)} pairs among {number(found.misread.iloc[0], 'count')} misread "
            f"reconstructions of test digits (cells: {cells}); top: {top}"
        )

    return text


EVIDENCE: dict[str, Callable[[dict, float], str]] = {
    "CNNGAN draws recognisable digits": lambda v, _: f"readable share {_shares(v, ('CNNGAN',))}",
    "DenseGAN fails to": lambda v, _: f"readable share {_shares(v, ('DenseGAN',))}",
    "DenseGAN-Deep fails to": lambda v, _: f"readable share {_shares(v, ('DenseGAN-Deep',))}",
    "both VAEs are more readable than every GAN": lambda v, _: (
        f"readable share of samples {_shares(v, VAES + GANS)}; the VAEs' reconstructions of test digits "
        f"(what the paper's Figure 3 shows) read as their own digit: {_listed(v, VAES, 'recon_accuracy')}"
    ),
    "VAE images are hazy": lambda v, real_haze: f"haze {_haze(v, VAES)}; real digits {number(real_haze, 'share')}",
    "GAN images are sharper (each GAN that draws digits less hazy than each VAE)": lambda v, _: (
        f"haze {_haze(v, GANS + VAES)}"
    ),
    "their Fréchet distances are alike": lambda v, _: (
        f"Fréchet distance {_listed(v, VAES, 'frechet_distance', 'value')}"
    ),
    "their readable shares are alike": lambda v, _: f"readable share {_shares(v, VAES)}",
    **{f"{pair} is among the pairs they confuse most": _pair_evidence(pair) for pair in CLAIMED_PAIRS},
}
"""Each part's evidence, by its words: the values it was decided on."""


def _combinations(tried_on: int, total: int) -> str:
    if total <= 1:
        return "one cell per model"
    tried = (
        f"{number(tried_on, 'count')} drawn from {number(total, 'count')}"
        if tried_on < total
        else f"all {number(total, 'count')}"
    )
    return f"on {tried} combinations of one cell per model"


def sensitivity_text(part: Part, found: Sensitivity) -> str:
    """How a part's verdict moves across its threshold's range and across the models' cells."""
    where = _combinations(found.combinations, found.total)
    if found.why == "missing":
        return "the values it needs are missing"
    t = part.threshold
    if found.why == "mixed":
        at = "" if t is None else f" at {number(t.value, t.kind)}"
        return f"the cells disagree{at}: it holds on some combinations of one cell per model, not on all"
    if found.why == "plain":
        return f"no threshold; {where}"
    span = f"from {number(t.low, t.kind)} to {number(t.high, t.kind)}"
    if found.why in ("holds", "fails"):
        return f"{found.why} for any {t.what} {span}, {where}"
    moved = "holds on some cells, not on all" if found.flip_mixed else ("fails" if found.at_value else "holds")
    return (
        f"flips for a {t.what} {span}: {'holds' if found.at_value else 'fails'} at {number(t.value, t.kind)}, "
        f"{moved} at {number(found.flip, t.kind)}"
    )


def part_row(decision: Decision, values: dict, real_haze: float) -> dict:
    """A decided part's row of the claims table."""
    range_text = sensitivity_text(decision.part, decision.sensitivity)
    if decision.verdict != decision.sensitivity.verdict:
        range_text = f"{range_text}; flips with the judge's cutoff"
    return {
        "claim": decision.part.claim,
        "part": decision.part.words,
        "verdict": decision.verdict,
        "evidence": EVIDENCE[decision.part.words](values, real_haze),
        "threshold": range_text,
        CUTOFF_COLUMN: " / ".join(decision.cutoffs) if decision.cutoffs else "not measured",
        JUDGE_ALONE: decision.judge_alone,
    }


def claims(scored: pd.DataFrame, variant: str, real_haze: float) -> pd.DataFrame:
    """Each claim's verdict (its `part` empty) and each of its parts', from one variant's protocol cells, over its
    threshold's range and the judge's cutoffs; beside each, its verdict at each cutoff and the one it would have
    with the judge alone deciding what is readable."""
    scope = protocol_cells(scored, variant)
    why, values = why_undecidable(scope), medians(scope.cells)
    decided = {d.part.words: d for d in decide(scope, real_haze)}
    undecided = {"verdict": UNDECIDED, "evidence": "", "threshold": "", CUTOFF_COLUMN: "", JUDGE_ALONE: UNDECIDED}
    rows = []
    every = parts(real_haze)
    for claim in dict.fromkeys(p.claim for p in every):
        found = [
            part_row(decided[p.words], values, real_haze)
            if p.words in decided
            else {"claim": claim, "part": p.words} | undecided
            for p in every
            if p.claim == claim
        ]
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
        scope = protocol_cells(frames.scored, variant)
        values, why = medians(scope.cells), why_undecidable(scope)
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
                Table(contrast, "value"),
            ]
    return page


def glance(frames: ProfileFrames) -> list[Block]:
    return []


def csvs(frames: ProfileFrames) -> dict[str, pd.DataFrame]:
    if frames.scored.empty:
        return {"claims.csv": pd.DataFrame()}
    found = [v.assign(profile=frames.profile, variant=variant) for variant, v in verdicts(frames)]
    return {"claims.csv": pd.concat(found, ignore_index=True)}
