"""The report's quality section: the paper's claims decided from metrics with known verdicts, tables and figures."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from architectures import get_spec
from suite.paper import FIGURES
from suite.report import build_report
from suite.report.claim_verdicts import CONTRADICTED, PARTLY, SUPPORTED, UNDECIDED, medians
from suite.report.sections.claims import claims, judges_own
from suite.report.sections.paper_side_by_side import swing
from suite.report.sections.sample_quality import toward_real
from suite.report.sections.time_to_target import stale
from suite.sample_metrics import PAIRS, recon_pair_name
from tests.test_report import result, write_cell

GOOD = {  # model: (readable share, haze, Fréchet distance), at the end of the paper's protocol
    "DenseGAN": (0.10, 0.05, 300.0),
    "DenseGAN-Deep": (0.02, 0.06, 700.0),
    "CNNGAN": (0.70, 0.08, 40.0),
    "DenseVAE": (0.90, 0.30, 20.0),
    "CNNVAE": (0.88, 0.25, 22.0),
}
REAL_HAZE = 0.075
"""The real digits' haze share (architectures/judge-reference.csv)."""
VAE_PAIRS = {(2, 3): 0.05, (4, 9): 0.04, (3, 5): 0.03}
"""Shares of reconstructions misread between these digits; every other pair 0.001."""


def metrics(readable: float, haze: float, fd: float, vae: bool, pairs: dict | None = None) -> dict:
    values = {"readable_share": readable, "confident_share": readable, "haze_share": haze}
    values |= {"frechet_distance": fd, "quality_images": 1000.0, "mid_tone_share": haze}
    values |= {"classifier_score": 1 + 8 * readable, "mean_confidence": readable}
    if vae:
        misread = {pair: 0.001 for pair in PAIRS} | (pairs or VAE_PAIRS)
        values |= {recon_pair_name(*pair): share for pair, share in misread.items()}
        values |= {"recon_accuracy": 1 - sum(misread.values()), "recon_images": 2000.0}
    return values


def frame(table: dict, profile: str = "paper", other_lr: bool = True, pairs: dict | None = None) -> pd.DataFrame:
    """Cells of two backends at each model's authors' rate; each model also has another rate, with the opposite
    values, that must not decide a claim."""
    rows = []
    for model, (readable, haze, fd) in table.items():
        vae, own = model.endswith("VAE"), get_spec(model).paper_lr
        keys = {"label": model, "model": model, "variant": "paper", "impl": "keras", "jit": "auto", "profile": profile}
        for backend in ("tensorflow", "jax"):
            rows.append(keys | {"backend": backend, "lr": own} | metrics(readable, haze, fd, vae, pairs))
            if other_lr:
                other = 1e-3 if own != 1e-3 else 1e-2
                opposite = metrics(1 - readable, 1 - haze, 10 * fd, vae, {(0, 1): 0.2})
                rows.append(keys | {"backend": backend, "lr": other} | opposite)
    return pd.DataFrame(rows)


def verdicts(table: dict, **kwargs) -> pd.DataFrame:
    return claims(frame(table, **kwargs), "paper", REAL_HAZE)


def claim_rows(found: pd.DataFrame) -> list[str]:
    return list(found[found.part == ""].verdict)


def part(found: pd.DataFrame, words: str) -> pd.Series:
    return found[found.part.str.startswith(words)].iloc[0]


def test_metrics_that_match_the_paper_support_every_claim_and_part():
    found = verdicts(GOOD)
    assert claim_rows(found) == [SUPPORTED] * 4, found.to_string()
    assert (found.verdict == SUPPORTED).all()
    assert (
        "holds for any readable share that counts as recognisable from 0.30 to 0.70" in part(found, "CNNGAN").threshold
    )
    assert "CNNGAN 0.700" in part(found, "CNNGAN").evidence
    assert "2↔3 ranks 1 of 45" in part(found, "2↔3").evidence
    recon = 1 - (sum(VAE_PAIRS.values()) + 0.001 * (len(PAIRS) - len(VAE_PAIRS)))
    evidence = part(found, "both VAEs").evidence
    assert f"read as their own digit: DenseVAE {recon:.3f} (all 2 cells), CNNVAE {recon:.3f} (all 2 cells)" in evidence
    assert "CNNGAN 0.700 (all 2 cells)" in evidence, "each value names the cells behind it"


def test_each_part_is_contradicted_by_the_metric_that_decides_it():
    found = verdicts(GOOD | {"DenseGAN": (0.90, 0.05, 60.0)})
    assert part(found, "DenseGAN fails").verdict == CONTRADICTED
    assert claim_rows(found)[0] == PARTLY, "two of three parts hold"
    found = verdicts(GOOD | {"CNNGAN": (0.95, 0.40, 40.0)})
    assert part(found, "both VAEs").verdict == CONTRADICTED and part(found, "GAN images").verdict == CONTRADICTED
    assert part(found, "VAE images are hazy").verdict == SUPPORTED and claim_rows(found)[1] == PARTLY
    found = verdicts(GOOD | {"DenseVAE": (0.90, 0.30, 40.0)})  # Fréchet distance 40 vs 22: a ratio of 1.8
    assert part(found, "their Fréchet").verdict == CONTRADICTED
    other = {
        pair: 0.03 for pair in [(3, 5), (7, 9), (1, 7), (0, 6), (5, 8), (3, 8), (1, 2), (0, 8), (2, 7), (4, 7), (6, 8)]
    }
    found = verdicts(GOOD, pairs=other | {(2, 3): 0.0011, (4, 9): 0.0011})  # both rank 12 or 13: below the top 10
    assert claim_rows(found)[3] == CONTRADICTED, found.to_string()


def test_a_verdict_that_flips_within_its_thresholds_range_is_undecided():
    found = verdicts(GOOD | {"DenseGAN": (0.45, 0.05, 300.0)})
    row = part(found, "DenseGAN fails")
    assert row.verdict == UNDECIDED and "from 0.30 to 0.70: holds at 0.50, fails at 0.30" in row.threshold, (
        row.threshold
    )
    assert claim_rows(found)[0] == UNDECIDED, "an undecided part could still turn the claim"


def test_only_the_papers_protocol_decides_a_claim():
    for profile in ("smoke", "quick", "target"):
        found = verdicts(GOOD, profile=profile)
        assert (found.verdict == UNDECIDED).all(), profile
        assert f"these are {profile} cells" in found.evidence.iloc[0]
    mixed = pd.concat([frame(GOOD), frame(GOOD, profile="target")])
    assert (claims(mixed, "paper", REAL_HAZE).verdict == UNDECIDED).all(), "a report mixing profiles decides nothing"


def test_other_learning_rates_than_the_authors_decide_nothing():
    at_other = frame(GOOD)
    at_other = at_other[~np.isclose(at_other.lr, at_other.model.map(lambda m: get_spec(m).paper_lr))]
    found = claims(at_other, "paper", REAL_HAZE)
    assert (found.verdict == UNDECIDED).all()


def test_parts_without_their_models_are_undecided():
    gans_only = verdicts({m: v for m, v in GOOD.items() if "GAN" in m})
    assert claim_rows(gans_only) == [SUPPORTED, UNDECIDED, UNDECIDED, UNDECIDED]
    assert part(gans_only, "both VAEs").threshold == "the values it needs are missing"
    assert part(gans_only, "2↔3").evidence == "needs both VAEs' reconstructions: DenseVAE, CNNVAE not run"


def test_too_few_misread_reconstructions_leave_claim_4_undecided():
    found = verdicts(GOOD, pairs={pair: 0.0 for pair in PAIRS} | {(2, 3): 0.005, (4, 9): 0.004})
    assert claim_rows(found)[3] == UNDECIDED, "2000 × 0.009 × 2 VAEs = 36 misread images, fewer than 50"


@pytest.fixture(scope="module")
def scored_results(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("scored")
    for model, (readable, haze, fd) in GOOD.items():
        losses = {"d_loss": [1.0, 0.9], "g_loss": [1.0, 0.8]} if "GAN" in model else {"loss": [300.0, 200.0]}
        for backend, seconds in (("tensorflow", [4.0, 1.0]), ("torch", [2.0, 2.0])):
            scores = metrics(readable, haze, fd, model.endswith("VAE"), VAE_PAIRS)
            write_cell(root, "r1", backend, model, 1e-4, result(seconds, losses, quality=scores))
    write_cell(root, "r1", "jax", "CNNGAN", 1e-4, result([], {}, "failed", error="boom"))
    build_report(root)
    return root


def test_report_shows_quality_metrics_claims_and_figures(scored_results):
    report = scored_results / "report"
    text = (report / "report.md").read_text()
    assert "## " in text and "Sample quality" in text and "The paper's claims, checked" in text
    assert "reference: real" in text, "the reference sets are shown beside the cells"
    claims_csv = pd.read_csv(report / "claims.csv", keep_default_na=False)
    assert len(claims_csv) == 4 + 10 and (claims_csv.verdict == UNDECIDED).all(), "a smoke run decides no claim"
    assert "Claims are decided only at the end of the paper's protocol" in claims_csv.evidence.iloc[0]
    quality = pd.read_csv(report / "quality.csv")
    assert len(quality) == 10, "ok cells only: 5 models × 2 backends"
    cnngan = quality[(quality.model == "CNNGAN") & (quality.backend == "tensorflow")].iloc[0]
    assert cnngan.train_s == pytest.approx(5.0) and cnngan.confident_share == pytest.approx(0.7)
    for name in ("quality", "quality-vs-time"):
        with Image.open(report / "smoke" / f"{name}.png") as image:
            image.verify()


def test_a_folder_without_quality_rows_still_reports(tmp_path):
    write_cell(tmp_path, "r1", "torch", "DenseGAN", 1e-4, result([2.0, 1.0], {"d_loss": [1, 1], "g_loss": [1, 1]}))
    (tmp_path / "quality.csv").unlink()
    build_report(tmp_path)
    assert "No cell of this profile has quality metrics" in (tmp_path / "report" / "report.md").read_text()


def test_a_one_backend_run_gets_its_quality_figures_and_claims(tmp_path):
    for model, (readable, haze, fd) in GOOD.items():
        losses = {"d_loss": [1.0, 0.9], "g_loss": [1.0, 0.8]} if "GAN" in model else {"loss": [300.0, 200.0]}
        scores = metrics(readable, haze, fd, model.endswith("VAE"), VAE_PAIRS)
        write_cell(tmp_path, "r1", "torch", model, 1e-4, result([2.0, 1.0], losses, quality=scores))
    build_report(tmp_path)
    with Image.open(tmp_path / "report" / "smoke" / "quality.png") as image:
        image.verify()
    claims_csv = pd.read_csv(tmp_path / "report" / "claims.csv", keep_default_na=False)
    assert (claims_csv.verdict == UNDECIDED).all()


def test_the_quality_heatmap_puts_noise_at_0_and_real_digits_at_1_whichever_way_a_metric_improves():
    ref = pd.DataFrame(
        {"frechet_distance": [3.0, 723.0, 900.0], "confident_share": [0.99, 0.09, 0.0]},
        index=["real", "noise", "blank"],
    )
    fd = toward_real(pd.DataFrame({"torch": [723.0, 3.0, 363.0, 800.0]}), "frechet_distance", ref)
    assert fd.torch.tolist() == pytest.approx([0.0, 1.0, 0.5, -77 / 720])
    readable = toward_real(pd.DataFrame({"jax": [0.09, 0.99, 0.54]}), "confident_share", ref)
    assert readable.jax.tolist() == pytest.approx([0.0, 1.0, 0.5])
    assert toward_real(pd.DataFrame({"jax": [1.0]}), "classifier_score", ref) is None


@pytest.mark.skipif(not FIGURES.is_dir(), reason="the paper's figures are not beside the checkout (shared/paper/)")
def test_a_protocol_run_redraws_the_papers_four_figures_beside_them_and_decides_the_claims(tmp_path):
    for model, (readable, haze, fd) in GOOD.items():
        losses = {"d_loss": [1.0, 0.9], "g_loss": [1.0, 0.8]} if "GAN" in model else {"loss": [300.0, 200.0]}
        scores = metrics(readable, haze, fd, model.endswith("VAE"), VAE_PAIRS)
        lr = get_spec(model).paper_lr
        write_cell(tmp_path, "r1", "tensorflow", model, lr, result([2.0, 1.0], losses, quality=scores), profile="paper")
    build_report(tmp_path)
    report = tmp_path / "report"
    text = (report / "report.md").read_text()
    assert text.count("### The paper's figures, re-drawn") == 1
    for number_ in range(1, 5):
        with Image.open(report / "paper" / f"paper-figure-{number_}.png") as image:
            image.verify()
        assert f"The paper's Figure {number_}:" in text
    assert (report / "paper-figures-LICENSE").read_text() == (FIGURES / "LICENSE").read_text()
    claims_csv = pd.read_csv(report / "claims.csv", keep_default_na=False)
    assert list(claims_csv[claims_csv.part == ""].verdict) == [SUPPORTED] * 4


def test_each_verdict_is_shown_beside_the_one_the_judge_alone_would_give():
    # DenseGAN's samples: the judge alone is sure of 70%, none lies on the digit manifold (blobs on speckle).
    table = frame(GOOD | {"DenseGAN": (0.0, 0.05, 300.0)})
    table.loc[table.model == "DenseGAN", "confident_share"] = 0.7
    found = claims(table, "paper", REAL_HAZE)
    row = part(found, "DenseGAN fails")
    assert row.verdict == SUPPORTED and row["verdict with the judge alone"] == CONTRADICTED
    assert claim_rows(found)[0] == SUPPORTED
    assert found[found.part == ""]["verdict with the judge alone"].iloc[0] == PARTLY


def test_a_part_the_cells_disagree_on_is_undecided_though_the_medians_decide_it():
    # DenseVAE's two cells read 0.60 and 0.95: their median (0.775) beats CNNGAN's 0.70, one cell does not.
    table = frame(GOOD)
    own = (table.model == "DenseVAE") & np.isclose(table.lr, get_spec("DenseVAE").paper_lr)
    table.loc[own & (table.backend == "jax"), "readable_share"] = 0.60
    table.loc[own & (table.backend == "tensorflow"), "readable_share"] = 0.95
    found = claims(table, "paper", REAL_HAZE)
    row = part(found, "both VAEs")
    assert row.verdict == UNDECIDED and "the cells disagree" in row.threshold, row.threshold
    assert "DenseVAE 0.775 (0.600–0.950 over 2 cells)" in row.evidence, row.evidence
    assert claim_rows(found)[1] == UNDECIDED
    # Where every cell agrees the verdict says on how many combinations it was tried: 2 cells for each of 5 models.
    assert "on all 32 combinations of one cell per model" in part(found, "CNNGAN").threshold


def test_a_threshold_part_the_cells_disagree_on_at_its_threshold_is_undecided():
    table = frame(GOOD)
    own = (table.model == "DenseGAN") & np.isclose(table.lr, get_spec("DenseGAN").paper_lr)
    table.loc[own & (table.backend == "jax"), "readable_share"] = 0.55  # recognisable at 0.5; the other cell 0.10
    row = part(claims(table, "paper", REAL_HAZE), "DenseGAN fails")
    assert row.verdict == UNDECIDED and "the cells disagree at 0.50" in row.threshold, row.threshold


def test_claim_4s_control_sets_the_vaes_confusions_beside_the_judges_own_on_hazy_real_digits(tmp_path):
    values = medians_of(GOOD)
    hazy = {recon_pair_name(a, b): 0.0 for a, b in PAIRS} | {recon_pair_name(1, 7): 0.02, recon_pair_name(4, 9): 0.01}
    rows = [("test digits blurred σ=1", 0.27, hazy), ("test digits", 0.075, {recon_pair_name(2, 3): 0.5})]
    csv = pd.DataFrame(
        [
            {"control": name, "kind": "hard case", "images": 1000, "metric": metric, "value": value}
            for name, haze, pairs in rows
            for metric, value in ({"haze_share": haze, "recon_accuracy": 0.95} | pairs).items()
        ]
    )
    csv.to_csv(tmp_path / "controls.csv", index=False)
    text = judges_own(values, tmp_path / "controls.csv")
    assert "test digits blurred σ=1 (haze 0.270" in text, "the blur nearest the VAEs' haze (0.30 and 0.25)"
    assert "4↔9: the judge 0.0100 (rank 2), the VAEs' reconstructions 0.0400" in text
    assert "2↔3: the judge 0.00 (rank" in text and "1↔7 0.0200" in text
    assert judges_own(values, tmp_path / "missing.csv") is None


def medians_of(table: dict) -> dict:
    from suite.report.claim_verdicts import protocol_cells

    return medians(protocol_cells(frame(table, other_lr=False), "paper").cells)


def test_a_last_batch_that_swings_around_a_steady_mean_is_called_noise_and_one_that_follows_it_learning():
    epoch = np.arange(2, 12)
    mean = np.linspace(3.0, 2.0, 10)
    noisy = pd.DataFrame({"epoch": epoch, "g_loss": mean, "g_loss_last": mean + np.tile([1.0, -1.0], 5)})
    assert "the swings are one batch's noise" in swing("CNNGAN", "g_loss", noisy)
    assert "ranges 1.89–3.11" in swing("CNNGAN", "g_loss", noisy.assign(g_loss_last=mean + np.tile([0.11, -0.11], 5)))
    steady = noisy.assign(g_loss_last=mean + 0.01)
    assert "its swings are the learning" in swing("CNNGAN", "g_loss", steady)


def test_a_time_to_a_target_that_no_longer_holds_is_said_to_be_to_the_older_target():
    today = get_spec("DenseGAN").family.target
    old = "confident_share ≥ 0.5 and digits_covered ≥ 10"
    reached = pd.DataFrame({"target": [old, old]})
    fooled = pd.DataFrame({"readable_share": [0.0, 0.6], "digits_covered": [10.0, 10.0]})
    line = stale("DenseGAN", reached, fooled, today)
    assert line.startswith("DenseGAN: 2 cells reached the target they ran under (confident_share ≥ 0.5")
    assert "but 1 of them do not meet today's (readable_share ≥ 0.5" in line
    assert stale("DenseGAN", reached, fooled.assign(readable_share=0.6), today) is None, "both meet today's"
    assert stale("DenseGAN", reached.assign(target=today.describe()), fooled, today) is None, "ran under today's"


def test_a_part_that_flips_with_the_judges_cutoff_is_undecided():
    rows = frame(GOOD, other_lr=False)
    cutoffs = {"readable_share_at_0.8": rows.readable_share, "readable_share_at_0.95": rows.readable_share}
    rows = rows.assign(**cutoffs, **{"readable_share_at_0.99": rows.readable_share})
    assert part(claims(rows, "paper", REAL_HAZE), "CNNGAN").verdict == SUPPORTED
    strict = rows.assign(**{"readable_share_at_0.99": rows.readable_share.where(rows.model != "CNNGAN", 0.2)})
    found = part(claims(strict, "paper", REAL_HAZE), "CNNGAN")
    assert found.verdict == UNDECIDED and "flips with the judge's cutoff" in found.threshold
    assert found["verdict at judge cutoffs 0.8 / 0.95 / 0.99"] == "supported / supported / contradicted"
