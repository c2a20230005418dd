"""Plain fp32 PyTorch WGAN-GP MNIST step: the baseline that ganforge's default path is measured against.

A straightforward port of the reference (Gulrajani et al. 2017, gan_mnist.py) as most people
would write it: DIM 64, z 128, batch 50, Adam 1e-4 (0.5, 0.9), λ 10, 5 critic steps, separate
critic passes over real, fake and interpolates, autograd double backward, fp32, default memory
format, default (foreach) Adam. It imports nothing from ganforge.
"""

from __future__ import annotations

import torch
from torch import nn

DIM, Z, BATCH, LAMBDA, CRITIC_ITERS = 64, 128, 50, 10.0, 5


class Generator(nn.Module):
    def __init__(self, dim: int = DIM) -> None:
        super().__init__()
        self.dim = dim
        self.fc = nn.Sequential(nn.Linear(Z, 4 * 4 * 4 * dim), nn.ReLU(True))
        self.block1 = nn.Sequential(nn.ConvTranspose2d(4 * dim, 2 * dim, 5), nn.ReLU(True))
        self.block2 = nn.Sequential(nn.ConvTranspose2d(2 * dim, dim, 5), nn.ReLU(True))
        self.deconv_out = nn.ConvTranspose2d(dim, 1, 8, stride=2)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        x = self.fc(z).view(-1, 4 * self.dim, 4, 4)
        x = self.block1(x)[:, :, :7, :7]
        x = self.block2(x)
        return torch.sigmoid(self.deconv_out(x))


class Critic(nn.Module):
    def __init__(self, dim: int = DIM) -> None:
        super().__init__()
        self.main = nn.Sequential(
            nn.Conv2d(1, dim, 5, stride=2, padding=2), nn.ReLU(True),
            nn.Conv2d(dim, 2 * dim, 5, stride=2, padding=2), nn.ReLU(True),
            nn.Conv2d(2 * dim, 4 * dim, 5, stride=2, padding=2), nn.ReLU(True))
        self.output = nn.Linear(4 * 4 * 4 * dim, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.output(self.main(x).flatten(1)).view(-1)


def gradient_penalty(critic: nn.Module, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    alpha = torch.rand(real.shape[0], 1, 1, 1, device=real.device)
    interpolates = (alpha * real + (1 - alpha) * fake).requires_grad_(True)
    out = critic(interpolates)
    grads = torch.autograd.grad(out.sum(), interpolates, create_graph=True)[0]
    return LAMBDA * ((grads.flatten(1).norm(2, dim=1) - 1) ** 2).mean()


class PlainTrainer:
    """The reference training step: 5 critic iterations then one generator iteration."""

    def __init__(self, data: torch.Tensor, dim: int = DIM, seed: int = 0) -> None:
        torch.manual_seed(seed)
        self.data, self.device = data, data.device  # trains where the data are (the CPU or a GPU)
        self.G, self.D = Generator(dim).to(self.device), Critic(dim).to(self.device)
        self.opt_g = torch.optim.Adam(self.G.parameters(), lr=1e-4, betas=(0.5, 0.9))
        self.opt_d = torch.optim.Adam(self.D.parameters(), lr=1e-4, betas=(0.5, 0.9))

    def batch(self) -> torch.Tensor:
        idx = torch.randint(0, len(self.data), (BATCH,), device=self.device)
        return self.data[idx]

    def step(self) -> tuple[float, float]:
        for p in self.D.parameters():
            p.requires_grad_(True)
        for _ in range(CRITIC_ITERS):
            real = self.batch()
            with torch.no_grad():
                fake = self.G(torch.randn(BATCH, Z, device=self.device))
            loss_d = self.D(fake).mean() - self.D(real).mean() + gradient_penalty(self.D, real, fake)
            self.opt_d.zero_grad()
            loss_d.backward()
            self.opt_d.step()
        for p in self.D.parameters():
            p.requires_grad_(False)
        loss_g = -self.D(self.G(torch.randn(BATCH, Z, device=self.device))).mean()
        self.opt_g.zero_grad()
        loss_g.backward()
        self.opt_g.step()
        return float(loss_d), float(loss_g)
