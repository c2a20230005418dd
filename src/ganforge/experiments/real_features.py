"""Features of real splits for the experiments: the domain classifier's embedding, cached like evaluate's."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ganforge.metrics.features import default_feature_cache, embed, feature_cache_path, load_real, real_features
from ganforge.train.classifier import load_classifier


@dataclass
class Embedder:
    """A loaded domain classifier and the embedding the experiment measures with.

    Attributes:
        dataset: the dataset the real splits come from.
        net: the classifier (eval mode, ``pixel_range`` set).
        meta: its ``classifier.json`` plus "dir".
        embedding: "logits" (default), "prelogits" or "hypercolumns".
        cache: cache real features on disk (``<data cache>/features``).
    """

    dataset: str
    net: torch.nn.Module
    meta: dict
    embedding: str = "logits"
    cache: bool = True

    @classmethod
    def load(cls, dataset: str, classifier: str | None = None, embedding: str = "logits") -> Embedder:
        net, meta = load_classifier(classifier or dataset)
        return cls(dataset, net, meta, embedding)

    def real(self, split: str, n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor, tuple[float, float]]:
        """(images (n', C, H, W), their features (n', D), pixel range) of a seeded subset of a split."""
        images, _, pixel_range, _ = load_real(self.dataset, split, n, seed)
        cache_file = None
        if self.cache:
            cache_file = feature_cache_path(default_feature_cache(), dataset=self.dataset, split=split, n=len(images),
                                            seed=seed, embedding=self.embedding, classifier_sha=self.meta["sha256"])
        return images, real_features(self.net, images, pixel_range, cache_file=cache_file,
                                     embedding=self.embedding), pixel_range

    def __call__(self, images: torch.Tensor, pixel_range: tuple[float, float], embedding: str | None = None):
        """(N, D) features of ``images`` (N, C, H, W) given in ``pixel_range``."""
        return embed(self.net, images, embedding=embedding or self.embedding, pixel_range=pixel_range)
