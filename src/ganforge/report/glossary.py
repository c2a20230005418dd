"""What each measure in the report means, which way is better, and where its number sits in ``metrics.json``.

One table, :data:`MEASURES`, drives both the headline of every run (``report/evaluation.py``) and the glossary
at the top of the page, so the two cannot drift apart. The meanings follow the evaluation suite's papers:
DDM (Basart 2017, eq. 3.4), FID (Heusel et al. 2017), KID (Bińkowski et al. 2018), the inception-style score
(Salimans et al. 2016) with the domain classifier, class coverage (Che et al. 2017), Parzen window
(Goodfellow et al. 2014) and nearest-neighbour memorization (Basart 2017).
"""

from __future__ import annotations

from dataclasses import dataclass

from ganforge.report.markup import esc


@dataclass(frozen=True)
class Measure:
    """One number of ``metrics.json``: where it sits, what it is called, which way is better."""

    path: tuple[str, ...]  # keys inside a set's entry, e.g. ("ddm",) or ("modes", "classes_covered")
    label: str
    lower_is_better: bool
    meaning: str
    spread: str | None = None  # key of its ± spread beside it, e.g. "ddm_std"

    @property
    def direction(self) -> str:
        return "lower is better" if self.lower_is_better else "higher is better"


MEASURES = (
    Measure(("ddm",), "DDM", True, "Domain-specific distance measure: how well the samples cover held-out real "
            "test images, judged in the feature space of a classifier trained on the dataset (nats).", "ddm_std"),
    Measure(("fid",), "FID", True, "Fréchet distance between Gaussians fitted to the features of the samples "
            "and of the real test images: differences of mean and spread.", "fid_std"),
    Measure(("kid",), "KID", True, "Kernel distance between the two feature sets (an unbiased squared MMD); "
            "about 0 when the samples look like real images.", "kid_std"),
    Measure(("is",), "Inception-style score", False, "How confidently the classifier recognises each sample "
            "and how evenly the samples spread over the classes.", "is_std"),
    Measure(("modes", "classes_covered"), "classes covered", False, "Classes holding at least a tenth of "
            "their fair share of the samples (by the classifier); fewer means missing modes."),
    Measure(("modes", "kl_to_uniform"), "KL to uniform", True, "How unevenly the samples fall into the "
            "classes (KL divergence of their class histogram to the uniform one; 0 is perfectly even)."),
    Measure(("modes", "modes_hit"), "modes hit", False, "2-D toy data: mixture modes with at least 20 samples "
            "within 3σ of their centre."),
    Measure(("modes", "high_quality_share"), "high-quality share", False, "2-D toy data: share of samples "
            "within 3σ of some mode's centre."),
    Measure(("parzen",), "Parzen log-likelihood", False, "Log-likelihood of the test images under a Gaussian "
            "window around each sample (nats); rough, shown for comparison with old papers.", "parzen_se"),
)
NN_MEANING = ("Nearest-neighbour ratio (memorization): each sample's distance to its nearest training image, "
              "divided by the same distance for unseen real test images (mean and median). About 1 means "
              "the samples are no closer to the training set than new real images are; far below 1, or any "
              "exact copies, means the generator reproduces training images.")
BASELINES = ("Every measure is also computed for two references at the same sample count: real training images "
             "(the best a generator can hope for) and images of uniform noise (what knows nothing about the "
             "data). The headline places the samples on that scale: 0% is noise, 100% is real training images. "
             "± is the bootstrap spread (one standard deviation over resampled sets).")


def glossary_section() -> str:
    """The page's "how to read this report" section: the baselines, then every measure and its direction."""
    items = [f"<dt>{esc(m.label)} <span class=dir>({esc(m.direction)})</span></dt><dd>{esc(m.meaning)}</dd>"
             for m in MEASURES]
    items.append(f"<dt>nearest-neighbour ratio <span class=dir>(about 1 is right; far below 1 is copying)</span>"
                 f"</dt><dd>{esc(NN_MEANING)}</dd>")
    return (f'<section class="glossary" id="glossary"><h2>How to read this report</h2><p>{esc(BASELINES)}</p>'
            f'<dl>{"".join(items)}</dl></section>')
