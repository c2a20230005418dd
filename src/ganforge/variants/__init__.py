"""Model recipes: one small file per model, each a :class:`VariantSpec` registered once, in :data:`VARIANTS`.

Every module of this package that defines a module-level ``SPEC`` is a model and is registered when the
package is imported (in sorted module order), so adding a model is adding its own file(s): no list here.
"""

import importlib
import pkgutil

from ganforge.config import MODEL_CONFIGS
from ganforge.registry import Registry
from ganforge.variants.base import DataShape, StepContext, VariantSpec

VARIANTS: Registry[VariantSpec] = Registry("model")


def register_variant(spec: VariantSpec) -> VariantSpec:
    """Register a model once, from its spec: the spec in :data:`VARIANTS` and its config class in
    ``config.MODEL_CONFIGS`` (so ``model.name`` resolves the section's type), both under ``spec.name``."""
    MODEL_CONFIGS.register(spec.name, spec.config_class)
    return VARIANTS.register(spec.name, spec)


for _info in sorted(pkgutil.iter_modules(__path__), key=lambda info: info.name):
    _spec = getattr(importlib.import_module(f"{__name__}.{_info.name}"), "SPEC", None)
    if isinstance(_spec, VariantSpec):
        register_variant(_spec)

__all__ = ["VARIANTS", "DataShape", "StepContext", "VariantSpec", "register_variant"]
