"""Model recipes: one small file per model, each a :class:`VariantSpec` in :data:`VARIANTS`."""

from ganforge.registry import Registry
from ganforge.variants import aegan, gan, lapgan, modnet, ppgn, stackgan, wgan, wgan_gp
from ganforge.variants.base import DataShape, StepContext, VariantSpec

VARIANTS: Registry[VariantSpec] = Registry("model")
for _module in (gan, wgan, wgan_gp, aegan, ppgn, modnet, lapgan, stackgan):
    VARIANTS.register(_module.SPEC.name, _module.SPEC)

__all__ = ["VARIANTS", "DataShape", "StepContext", "VariantSpec"]
