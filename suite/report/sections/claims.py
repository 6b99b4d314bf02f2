"""The paper's four claims, checked against the quality metrics of the cells that can speak to them."""

from __future__ import annotations

import numpy as np
import pandas as pd

from suite.profiles import PROFILES
from suite.report.formatting import lr_label, number
from suite.report.frames import ProfileFrames
from suite.report.loading import model_order
from suite.report.page import Block, Heading, Table, Text
from suite.report.sections.sample_quality import best_cells
from suite.sample_metrics import PAIRS, pair_name

RECOGNISABLE = 0.5
"""A model makes recognisable digits when at least this share of its samples is readable (p ≥ 0.9)."""
SAME_FD_RATIO = 1.25
SAME_READABLE = 0.10
"""Two models are 'about as good' when their Fréchet distances are within this ratio and readable shares this close."""
TOP_PAIRS = 5
MIN_UNSURE = 50
"""Claim 4 needs at least this many unsure VAE samples, and asks whether both pairs are among the top few."""
MIN_TRAINED = 0.1
"""If every model's readable share is below this (uniform noise reaches ~0.09), the run is too short to judge."""
SUPPORTED, CONTRADICTED, NO_DATA = "supported", "contradicted", "not enough data"


def _per_backend(best: pd.DataFrame, label: str, metric: str) -> str:
    rows = best[best.label == label]
    return ", ".join(
        f"{r.backend} {number(getattr(r, metric), '.3g')} (lr {lr_label(r.lr)})" for r in rows.itertuples()
    )


def _value(best: pd.DataFrame, label: str, metric: str) -> float:
    """A model's figure for a claim: the median over backends of its best-learning-rate cells."""
    return float(best[best.label == label][metric].median())


def aimed(best: pd.DataFrame) -> bool:
    """Whether these are time-to-target cells: each stopped at its target, so quality is compared at that point."""
    return "reached" in best.columns and bool(best.reached.notna().any())


def _steps(value: float) -> str:
    return "never" if not np.isfinite(value) else f"{number(value, ',.0f')}"


def claim_recognisable(best: pd.DataFrame, labels: dict) -> dict:
    claim = "1. CNNGAN produces recognisable digits; DenseGAN and DenseGAN-Deep fail to."
    needed = ["CNNGAN", "DenseGAN", "DenseGAN-Deep"]
    if any(labels.get(m) is None for m in needed):
        return {"claim": claim, "verdict": NO_DATA, "evidence": "needs ok cells of CNNGAN, DenseGAN and DenseGAN-Deep"}
    share = {m: _value(best, labels[m], "confident_share") for m in needed}
    if aimed(best):
        reached = {m: _value(best, labels[m], "reached") >= 0.5 for m in needed}
        holds = [reached["CNNGAN"], not reached["DenseGAN"], not reached["DenseGAN-Deep"]]
        evidence = "recognisable = reached the target (readable share ≥ 0.5 with all ten digits drawn) within the " + (
            "budget: "
            + "; ".join(
                f"{m} {'reached' if reached[m] else 'did not reach'} it [per backend: "
                f"{_per_backend(best, labels[m], 'reached')}], last readable share {number(share[m], '.3f')}, "
                f"digits {number(_value(best, labels[m], 'digits_covered'), '.0f')}"
                for m in needed
            )
        )
        return {"claim": claim, "verdict": SUPPORTED if all(holds) else CONTRADICTED, "evidence": evidence}
    holds = [share["CNNGAN"] >= RECOGNISABLE, share["DenseGAN"] < RECOGNISABLE, share["DenseGAN-Deep"] < RECOGNISABLE]
    evidence = (
        f"share of samples the judge reads with p ≥ 0.9 (recognisable at ≥ {number(RECOGNISABLE, 'g')}): "
        + "; ".join(
            f"{m} {number(share[m], '.3f')} [{_per_backend(best, labels[m], 'confident_share')}]" for m in needed
        )
    )
    return {"claim": claim, "verdict": SUPPORTED if all(holds) else CONTRADICTED, "evidence": evidence}


def claim_vae_readable(best: pd.DataFrame, labels: dict) -> dict:
    claim = "2. Both VAEs are more readable than the GANs; VAE images are hazier, GAN images sharper."
    gans = [labels[m] for m in ("DenseGAN", "DenseGAN-Deep", "CNNGAN") if labels.get(m)]
    vaes = [labels[m] for m in ("DenseVAE", "CNNVAE") if labels.get(m)]
    if not gans or not vaes:
        return {"claim": claim, "verdict": NO_DATA, "evidence": "needs ok cells of at least one GAN and one VAE"}
    haze = {m: _value(best, m, "mid_tone_share") for m in gans + vaes}
    hazier = min(haze[m] for m in vaes) > max(haze[m] for m in gans)
    if aimed(best):
        steps = {m: _value(best, m, "steps_to_target") for m in gans + vaes}
        more_readable = max(steps[m] for m in vaes) < min(steps[m] for m in gans)
        readable = (
            "training steps to readable digits of every kind (the target): "
            + ", ".join(f"{m} {_steps(steps[m])}" for m in vaes + gans)
            + f" ({'every VAE sooner than every GAN' if more_readable else 'not every VAE sooner than every GAN'}); "
            "mid-tone pixel share (haze) at the target, or at the budget's end: "
        )
    else:
        share = {m: _value(best, m, "confident_share") for m in gans + vaes}
        more_readable = min(share[m] for m in vaes) > max(share[m] for m in gans)
        readable = (
            "readable share: "
            + ", ".join(f"{m} {number(share[m], '.3f')}" for m in vaes + gans)
            + f" ({'every VAE above every GAN' if more_readable else 'not every VAE above every GAN'}); "
            "mid-tone pixel share (haze): "
        )
    evidence = (
        readable
        + ", ".join(f"{m} {number(haze[m], '.3f')}" for m in vaes + gans)
        + f" ({'every VAE hazier than every GAN' if hazier else 'not every VAE hazier than every GAN'})"
    )
    return {"claim": claim, "verdict": SUPPORTED if more_readable and hazier else CONTRADICTED, "evidence": evidence}


def claim_dense_vae_as_good(best: pd.DataFrame, labels: dict) -> dict:
    claim = "3. The dense VAE is about as good as the convolutional one."
    if not labels.get("DenseVAE") or not labels.get("CNNVAE"):
        return {"claim": claim, "verdict": NO_DATA, "evidence": "needs ok cells of DenseVAE and CNNVAE"}
    dense, cnn = labels["DenseVAE"], labels["CNNVAE"]
    fd = {m: _value(best, m, "frechet_distance") for m in (dense, cnn)}
    readable = {m: _value(best, m, "confident_share") for m in (dense, cnn)}
    ratio = max(fd.values()) / max(min(fd.values()), 1e-12)
    gap = abs(readable[dense] - readable[cnn])
    same = ratio <= SAME_FD_RATIO and gap <= SAME_READABLE
    evidence = (
        f"Fréchet distance DenseVAE {number(fd[dense])} vs CNNVAE {number(fd[cnn])} "
        f"(ratio {number(ratio, '.2f')}, alike if ≤ {SAME_FD_RATIO}); "
        f"readable share {number(readable[dense], '.3f')} vs {number(readable[cnn], '.3f')} "
        f"(gap {number(gap, '.3f')}, alike if ≤ {SAME_READABLE})"
    )
    if aimed(best):
        both = all(_value(best, m, "reached") >= 0.5 for m in (dense, cnn))
        same = same and both
        steps = {m: _steps(_value(best, m, "steps_to_target")) for m in (dense, cnn)}
        evidence = (
            f"{'both reached' if both else 'not both reached'} the target (steps: DenseVAE {steps[dense]}, CNNVAE "
            f"{steps[cnn]}); at the target, where their readability is alike by design, " + evidence
        )
    return {"claim": claim, "verdict": SUPPORTED if same else CONTRADICTED, "evidence": evidence}


def vae_confusions(best: pd.DataFrame, labels: dict) -> pd.DataFrame:
    """Digit pairs the judge is unsure between in the VAEs' samples, most frequent first (mean over best cells)."""
    vaes = best[best.label.isin([labels.get("DenseVAE"), labels.get("CNNVAE")])]
    columns = [pair_name(a, b) for a, b in PAIRS if pair_name(a, b) in vaes.columns]
    if vaes.empty or not columns:
        return pd.DataFrame(columns=["pair", "share", "unsure_images"])
    shares = vaes[columns].mean()
    images = (vaes[columns].sum(axis=1) * vaes.quality_images).sum()
    frame = pd.DataFrame({"pair": [c.removeprefix("confused_").replace("_", "↔") for c in columns], "share": shares})
    frame = frame.sort_values("share", ascending=False, kind="stable").reset_index(drop=True)
    return frame.assign(rank=frame.index + 1, unsure_images=int(round(images)))


def claim_confusions(confused: pd.DataFrame, labels: dict) -> dict:
    claim = "4. The VAEs confuse 2 with 3 and 4 with 9."
    if not labels.get("DenseVAE") or not labels.get("CNNVAE"):
        return {"claim": claim, "verdict": NO_DATA, "evidence": "needs ok cells of DenseVAE and CNNVAE"}
    if confused.empty or confused.unsure_images.iloc[0] < MIN_UNSURE:
        found = 0 if confused.empty else confused.unsure_images.iloc[0]
        return {"claim": claim, "verdict": NO_DATA, "evidence": f"{found} unsure VAE samples (needs {MIN_UNSURE})"}
    rank = dict(zip(confused.pair, confused["rank"], strict=True))
    top = ", ".join(f"{r.pair} {number(r.share, '.3f')}" for r in confused.head(TOP_PAIRS).itertuples())
    holds = rank["2↔3"] <= TOP_PAIRS and rank["4↔9"] <= TOP_PAIRS
    evidence = (
        f"among {int(confused.unsure_images.iloc[0]):,} unsure VAE samples (top class p < 0.9), 2↔3 ranks "
        f"{rank['2↔3']} and 4↔9 ranks {rank['4↔9']} of 45 pairs (supported if both in the top {TOP_PAIRS}); "
        f"top pairs by share of samples: {top}"
    )
    return {"claim": claim, "verdict": SUPPORTED if holds else CONTRADICTED, "evidence": evidence}


def claims(frame: pd.DataFrame, variant: str = "paper") -> tuple[pd.DataFrame, pd.DataFrame]:
    """The four claims' verdicts from one variant's Keras cells at the default compile mode, and the VAEs'
    confusion pairs behind claim 4."""
    frame = frame[(frame.variant == variant) & (frame.impl == "keras") & (frame.jit == "auto")]
    best = best_cells(frame) if len(frame) else frame
    labels = dict(zip(best.model, best.label, strict=True)) if len(best) else {}
    confused = vae_confusions(best, labels)
    verdicts = [
        claim_recognisable(best, labels),
        claim_vae_readable(best, labels),
        claim_dense_vae_as_good(best, labels),
        claim_confusions(confused, labels),
    ]
    if len(best) and best.confident_share.max() < MIN_TRAINED:
        why = (
            f"no model's samples are readable beyond noise level (best readable share "
            f"{number(best.confident_share.max(), '.3f')} < {number(MIN_TRAINED, 'g')}): train longer "
            "(e.g. --profile paper); measured: "
        )
        for verdict in verdicts:
            if verdict["verdict"] != NO_DATA:
                verdict["verdict"], verdict["evidence"] = NO_DATA, why + verdict["evidence"]
    return pd.DataFrame(verdicts), confused


AIMED_SCOPE = (
    "From time-to-target cells: each trained on all 60,000 images until its samples met the target or its budget ran "
    "out, and its quality is that of its last evaluation, so the models are compared where their digits became "
    "readable (or at the end of their budget). "
)


def epochs_text(frame: pd.DataFrame) -> str:
    """How long the cells trained: `3 epochs`, or `5 epochs: CNNGAN, CNNVAE; 40 epochs: DenseGAN, ...`."""
    by_epochs = frame.groupby("epochs").model.agg(lambda m: ", ".join(model_order(m.unique())))
    if len(by_epochs) == 1:
        return f"{by_epochs.index[0]} epochs"
    return "; ".join(f"{epochs} epochs: {models}" for epochs, models in by_epochs.items())


def verdicts(frames: ProfileFrames) -> list[tuple[str, pd.DataFrame, pd.DataFrame]]:
    """Per variant: the four claims' verdicts and the VAEs' confusion pairs behind claim 4, once."""
    frame = frames.scored
    return frames.once("claims", lambda f: [(v, *claims(frame, v)) for v in sorted(frame.variant.unique())])


def blocks(frames: ProfileFrames) -> list[Block]:
    """The claims blocks of one profile, a part per variant (none without quality metrics)."""
    frame, profile = frames.scored, frames.profile
    page: list[Block] = []
    for variant, found, confused in verdicts(frames) if len(frame) else []:
        spec = PROFILES[profile]
        scope = "all 60,000" if spec.train_images is None else f"{spec.train_images:,}"
        page += [
            Heading(f"The paper's claims, checked (variant `{variant}`)", 3),
            Text(
                (
                    AIMED_SCOPE
                    if aimed(frame)
                    else f"From this profile's cells ({epochs_text(frame)} on {scope} training "
                    "images; the paper trained 50 epochs on all 60,000). "
                )
                + "Each model's figure is the median over backends of its best learning rate (lowest Fréchet "
                "distance); thresholds are in suite/report/sections/claims.py."
            ),
            Table(found),
        ]
        if len(confused):
            page += [
                Text("Digit pairs the judge is unsure between (top class p < 0.9) in the VAEs' samples:"),
                Table(confused.head(10)[["rank", "pair", "share"]]),
            ]
    return page


def glance(frames: ProfileFrames) -> list[Block]:
    return []


def csvs(frames: ProfileFrames) -> dict[str, pd.DataFrame]:
    if frames.scored.empty:
        return {"claims.csv": pd.DataFrame()}
    found = [v.assign(profile=frames.profile, variant=variant) for variant, v, _ in verdicts(frames)]
    return {"claims.csv": pd.concat(found, ignore_index=True)}
