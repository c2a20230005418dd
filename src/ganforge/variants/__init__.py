"""Model recipes: one small file per model, each a :class:`VariantSpec` registered once, in :data:`VARIANTS`."""

from ganforge.config import MODEL_CONFIGS
from ganforge.registry import Registry
from ganforge.variants import aegan, gan, lapgan, modnet, ppgn, stackgan, wgan, wgan_gp
from ganforge.variants.base import DataShape, StepContext, VariantSpec

VARIANTS: Registry[VariantSpec] = Registry("model")


def register_variant(spec: VariantSpec) -> VariantSpec:
    """Register a model once, from its spec: the spec in :data:`VARIANTS` and its config class in
    ``config.MODEL_CONFIGS`` (so ``model.name`` resolves the section's type), both under ``spec.name``."""
    MODEL_CONFIGS.register(spec.name, spec.config_class)
    return VARIANTS.register(spec.name, spec)


for _module in (gan, wgan, wgan_gp, aegan, ppgn, modnet, lapgan, stackgan):
    register_variant(_module.SPEC)

__all__ = ["VARIANTS", "DataShape", "StepContext", "VariantSpec", "register_variant"]
