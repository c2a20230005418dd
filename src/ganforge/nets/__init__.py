"""Networks: plain ``nn.Module`` s, one file per family, each registered in ``NETS`` as a :class:`NetSpec`.

Generators map z (B, z_dim) to samples (B, C, H, W) (or (B, out_dim) for toy data); discriminators and
critics map samples to raw scores (B,) without a sigmoid. Training logic lives in ``ganforge.variants``.
A new family adds ``nets/<family>.py``, registers its specs at the end of that file, and is imported here.
"""

from __future__ import annotations

from ganforge.nets.aegan import DCGANEncoder, MLPEncoder
from ganforge.nets.classifiers import MNISTClassifier, ResNetClassifier
from ganforge.nets.dcgan import SUPPORTED_SHAPES, DCGANDiscriminator, DCGANGenerator
from ganforge.nets.lapgan import LAPGANDiscriminators, LAPGANGenerators
from ganforge.nets.layers import Crop, Reshape, dcgan_init_
from ganforge.nets.mlp import MLPDiscriminator, MLPGenerator
from ganforge.nets.modnet import ModNetDiscriminator, ModNetUNet
from ganforge.nets.ppgn import PPGNCodeCritic, PPGNFeatureCritic, PPGNGenerator, PPGNImageCritic
from ganforge.nets.spec import NETS, NetSpec
from ganforge.nets.stackgan import (
    StackGANFeatureDiscriminator,
    StackGANFeatureGenerator,
    StackGANImageDiscriminator,
    StackGANImageGenerator,
    StackGANNoiseHead,
)
from ganforge.nets.wgan_gp_mnist import WGANGPMNISTCritic, WGANGPMNISTGenerator

__all__ = [
    "NETS",
    "SUPPORTED_SHAPES",
    "Crop",
    "DCGANDiscriminator",
    "DCGANEncoder",
    "DCGANGenerator",
    "LAPGANDiscriminators",
    "LAPGANGenerators",
    "MLPDiscriminator",
    "MLPEncoder",
    "MLPGenerator",
    "MNISTClassifier",
    "ModNetDiscriminator",
    "ModNetUNet",
    "NetSpec",
    "PPGNCodeCritic",
    "PPGNFeatureCritic",
    "PPGNGenerator",
    "PPGNImageCritic",
    "Reshape",
    "ResNetClassifier",
    "StackGANFeatureDiscriminator",
    "StackGANFeatureGenerator",
    "StackGANImageDiscriminator",
    "StackGANImageGenerator",
    "StackGANNoiseHead",
    "WGANGPMNISTCritic",
    "WGANGPMNISTGenerator",
    "dcgan_init_",
]
