"""Samplers: weight-free procedures that draw latents or walk them (noise, interpolation, MALA)."""

from ganforge.samplers.interpolate import interpolate_latents, lerp, slerp
from ganforge.samplers.mala import MALAResult, MALASettings, mala_step, run_mala
from ganforge.samplers.noise import sample_noise

__all__ = ["MALAResult", "MALASettings", "interpolate_latents", "lerp", "mala_step", "run_mala", "sample_noise",
           "slerp"]
