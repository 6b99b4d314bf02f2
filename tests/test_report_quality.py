"""The report's quality section: the paper's claims decided from metrics with known verdicts, tables and figures."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from PIL import Image

from suite.report import build_report
from suite.report.sections.claims import CONTRADICTED, NO_DATA, SUPPORTED, claims
from suite.report.sections.sample_quality import toward_real
from suite.sample_metrics import PAIRS, pair_name
from tests.test_report import result, write_cell

GOOD = {  # model: (readable share, haze, Fréchet distance)
    "DenseGAN": (0.10, 0.05, 300.0),
    "DenseGAN-Deep": (0.20, 0.06, 250.0),
    "CNNGAN": (0.70, 0.08, 40.0),
    "DenseVAE": (0.90, 0.30, 20.0),
    "CNNVAE": (0.85, 0.25, 22.0),
}


def metrics(readable: float, haze: float, fd: float, vae: bool, pairs: dict | None = None) -> dict:
    values = {"confident_share": readable, "mid_tone_share": haze, "frechet_distance": fd, "quality_images": 1000.0}
    values |= {"classifier_score": 1 + 8 * readable, "mean_confidence": readable}
    confused = {pair: 0.001 for pair in PAIRS} | (pairs or {})
    values |= {pair_name(*pair): share for pair, share in confused.items()} if vae else {}
    return values


def frame(table: dict, pairs: dict | None = None, worse_lr: bool = True) -> pd.DataFrame:
    """Cells of two backends; each model also has a worse learning rate that must not decide a claim."""
    rows = []
    for model, (readable, haze, fd) in table.items():
        vae = model.endswith("VAE")
        for backend in ("tensorflow", "jax"):
            rows.append(
                {
                    "label": model,
                    "model": model,
                    "variant": "paper",
                    "impl": "keras",
                    "jit": "auto",
                    "backend": backend,
                    "lr": 1e-4,
                }
                | metrics(readable, haze, fd, vae, pairs)
            )
            if worse_lr:
                rows.append(
                    {
                        "label": model,
                        "model": model,
                        "variant": "paper",
                        "impl": "keras",
                        "jit": "auto",
                        "backend": backend,
                        "lr": 1e-6,
                    }
                    | metrics(1 - readable, 1 - haze, 10 * fd, vae)
                )
    return pd.DataFrame(rows)


def verdicts(table: dict, pairs: dict | None = None) -> list[str]:
    found, _ = claims(frame(table, pairs))
    return list(found.verdict)


VAE_PAIRS = {(2, 3): 0.05, (4, 9): 0.04, (3, 5): 0.03}


def test_metrics_that_match_the_paper_support_every_claim():
    assert verdicts(GOOD, VAE_PAIRS) == [SUPPORTED] * 4


def test_each_claim_is_contradicted_by_the_metric_that_decides_it():
    dense_gan_reads = GOOD | {"DenseGAN": (0.60, 0.05, 60.0)}
    assert verdicts(dense_gan_reads, VAE_PAIRS)[0] == CONTRADICTED
    gan_hazier = GOOD | {"CNNGAN": (0.70, 0.40, 40.0)}
    assert verdicts(gan_hazier, VAE_PAIRS)[1] == CONTRADICTED
    dense_vae_worse = GOOD | {"DenseVAE": (0.90, 0.30, 40.0)}  # Fréchet distance 40 vs 22: ratio 1.8
    assert verdicts(dense_vae_worse, VAE_PAIRS)[2] == CONTRADICTED
    other_pairs = {(3, 5): 0.05, (7, 9): 0.04, (1, 7): 0.03, (0, 6): 0.03, (5, 8): 0.03, (3, 8): 0.03}
    assert verdicts(GOOD, other_pairs | {(2, 3): 0.002, (4, 9): 0.002})[3] == CONTRADICTED


def test_claims_without_their_models_have_not_enough_data():
    gans_only = {m: v for m, v in GOOD.items() if "GAN" in m}
    assert verdicts(gans_only) == [SUPPORTED, NO_DATA, NO_DATA, NO_DATA]
    assert verdicts({"CNNVAE": GOOD["CNNVAE"]}) == [NO_DATA] * 4


def test_claims_use_each_models_best_learning_rate_and_give_the_numbers():
    found, confused = claims(frame(GOOD, VAE_PAIRS))
    assert "CNNGAN 0.700" in found.evidence[0] and "lr 1e-04" in found.evidence[0]
    assert "ratio 1.10" in found.evidence[2]
    assert list(confused.pair[:3]) == ["2↔3", "4↔9", "3↔5"]
    assert confused.share[0] == pytest.approx(0.05)


def test_a_run_too_short_for_any_readable_digit_has_not_enough_data():
    untrained = {model: (0.02, 1.0, 800.0) for model in GOOD}
    found, _ = claims(frame(untrained, VAE_PAIRS, worse_lr=False))
    assert list(found.verdict) == [NO_DATA] * 4
    assert "train longer" in found.evidence[0] and "CNNGAN 0.020" in found.evidence[0]


def test_few_unsure_samples_are_not_enough_for_claim_4():
    table = frame(GOOD, {pair: 0.0 for pair in PAIRS} | {(2, 3): 0.001, (4, 9): 0.001})
    table = table[table.lr == 1e-4]
    found, _ = claims(table)
    assert found.verdict[3] == NO_DATA


AIMED = {  # model: (steps to target or None for a miss, readable share, haze, Fréchet distance, digits drawn)
    "DenseGAN": (None, 0.60, 0.05, 300.0, 4),  # readable, but four digits: a collapsed generator, not the target
    "DenseGAN-Deep": (None, 0.20, 0.06, 250.0, 9),
    "CNNGAN": (6000, 0.52, 0.08, 40.0, 10),
    "DenseVAE": (4000, 0.51, 0.30, 400.0, 10),
    "CNNVAE": (1500, 0.53, 0.25, 380.0, 10),
}


def aimed_verdicts(table: dict) -> tuple[list[str], list[str]]:
    """The verdicts and evidence of time-to-target cells, which stopped at their target (or their budget's end)."""
    rows = frame({m: (readable, haze, fd) for m, (_, readable, haze, fd, _) in table.items()}, VAE_PAIRS, False)
    steps = rows.model.map({m: v[0] for m, v in table.items()})
    rows = rows.assign(
        reached=steps.notna().astype(float),
        steps_to_target=steps.astype(float).fillna(float("inf")),
        digits_covered=rows.model.map({m: v[4] for m, v in table.items()}).astype(float),
    )
    found, _ = claims(rows)
    return list(found.verdict), list(found.evidence)


def test_time_to_target_cells_decide_the_claims_where_their_digits_became_readable():
    found, evidence = aimed_verdicts(AIMED)
    assert found == [SUPPORTED] * 4, evidence
    assert "DenseGAN did not reach it" in evidence[0] and "digits 4" in evidence[0]
    assert "DenseVAE 4,000, CNNVAE 1,500, DenseGAN never, DenseGAN-Deep never, CNNGAN 6,000" in evidence[1]
    assert "both reached the target (steps: DenseVAE 4,000, CNNVAE 1,500)" in evidence[2]
    assert aimed_verdicts(AIMED | {"DenseGAN": (9000, 0.55, 0.05, 200.0, 10)})[0][0] == CONTRADICTED
    assert aimed_verdicts(AIMED | {"CNNGAN": (None, 0.40, 0.08, 60.0, 10)})[0][0] == CONTRADICTED
    # A GAN readable sooner than a VAE contradicts "more readable"; a VAE that never gets there, claim 3.
    assert aimed_verdicts(AIMED | {"CNNGAN": (3000, 0.52, 0.08, 40.0, 10)})[0][1] == CONTRADICTED
    assert aimed_verdicts(AIMED | {"CNNVAE": (None, 0.45, 0.25, 380.0, 10)})[0][2] == CONTRADICTED


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
    claims_csv = pd.read_csv(report / "claims.csv")
    assert list(claims_csv.verdict) == [SUPPORTED] * 4
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
    assert list(pd.read_csv(tmp_path / "report" / "claims.csv").verdict) == [SUPPORTED] * 4


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
