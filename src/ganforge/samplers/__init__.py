"""Samplers: weight-free procedures that draw latents or walk them (noise, interpolation, MALA)."""

from ganforge.samplers.interpolate import interpolate_latents, lerp, slerp
from ganforge.samplers.noise import sample_noise

__all__ = ["interpolate_latents", "lerp", "sample_noise", "slerp"]
