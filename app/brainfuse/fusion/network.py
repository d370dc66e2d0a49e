"""The SESF-style encoder/decoder network (about 75 k parameters).

Architecture from ``../shared/reference/method.md`` (after Ma et al., "SESF-Fuse: an
unsupervised deep model for multi-focus image fusion", Neural Computing and Applications
2021, arXiv:1908.01703):

* block = Conv 3x3 (padding 1, bias) -> ReLU -> BatchNorm;
* encoder: block 1->16 + cSE, then a dense part of three blocks (16->16, 32->16, 48->16,
  each + cSE) each fed the concatenation of all earlier outputs; the four 16-channel maps
  concatenated are the 64-channel deep feature map;
* cSE (channel squeeze-and-excitation, Hu et al. 2018): global average pool ->
  Linear(C, C/8) -> ReLU -> Linear(C/8, C) -> sigmoid -> scale the channels;
* decoder (training only): block 64->64, 64->32, 32->16, Conv 16->1.

The cSE's global pooling makes the features depend on the whole slice. To let large
slices be tiled exactly, :meth:`Encoder.forward` accepts precomputed channel scales
(``se_scales``) and :meth:`Encoder.stage_means` exposes the per-stage pooled means, so the
tiler can compute the global pooling over all tiles first (see ``fusion/activity.py``).
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["ChannelSE", "ConvBlock", "Decoder", "Encoder", "FusionAutoencoder", "count_parameters"]

FEATURES = 64  # channels of the deep feature map
_RECEPTIVE_RADIUS = 4  # four 3x3 convolutions in the encoder


class ConvBlock(nn.Sequential):
    """Conv 3x3 (padding 1, bias) -> ReLU -> BatchNorm2d."""

    def __init__(self, c_in: int, c_out: int):
        super().__init__(
            nn.Conv2d(c_in, c_out, kernel_size=3, padding=1, bias=True),
            nn.ReLU(inplace=True),
            nn.BatchNorm2d(c_out),
        )


class ChannelSE(nn.Module):
    """Channel squeeze-and-excitation: per-channel sigmoid gates from the global mean."""

    def __init__(self, channels: int, reduction: int = 8):
        super().__init__()
        self.fc1 = nn.Linear(channels, channels // reduction)
        self.fc2 = nn.Linear(channels // reduction, channels)

    def scales(self, means: torch.Tensor) -> torch.Tensor:
        """Gates ``(N, C)`` in (0, 1) from pooled means ``(N, C)``."""
        return torch.sigmoid(self.fc2(torch.relu(self.fc1(means))))

    def forward(self, x: torch.Tensor, scales: torch.Tensor | None = None) -> torch.Tensor:
        """Gate each channel of ``x`` ``(N, C, H, W)``; ``scales`` ``(N, C)`` overrides pooling."""
        if scales is None:
            scales = self.scales(x.mean(dim=(2, 3)))
        return x * scales[:, :, None, None]


class Encoder(nn.Module):
    """Input ``(N, 1, H, W)`` in [0, 1] -> deep features ``(N, 64, H, W)``."""

    receptive_radius = _RECEPTIVE_RADIUS

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = ConvBlock(1, 16)
        self.se1 = ChannelSE(16)
        self.dense = nn.ModuleList([ConvBlock(16, 16), ConvBlock(32, 16), ConvBlock(48, 16)])
        self.se_dense = nn.ModuleList([ChannelSE(16) for _ in range(3)])

    @property
    def n_stages(self) -> int:
        """Number of feature stages (the first convolution and each dense block)."""
        return 1 + len(self.dense)

    def _stage(self, s: int, feats: list[torch.Tensor], x: torch.Tensor) -> torch.Tensor:
        if s == 0:
            return self.conv1(x)
        return self.dense[s - 1](torch.cat(feats, dim=1))

    def _se(self, s: int) -> ChannelSE:
        se = self.se1 if s == 0 else self.se_dense[s - 1]
        assert isinstance(se, ChannelSE)  # nn.ModuleList items are typed as any Module
        return se

    def forward(self, x: torch.Tensor, se_scales: list[torch.Tensor] | None = None) -> torch.Tensor:
        """Deep features; ``se_scales`` (one ``(N, C)`` tensor per stage) overrides pooling."""
        feats: list[torch.Tensor] = []
        for s in range(self.n_stages):
            y = self._stage(s, feats, x)
            feats.append(self._se(s)(y, None if se_scales is None else se_scales[s]))
        return torch.cat(feats, dim=1)

    def stage_output(
        self, x: torch.Tensor, stage: int, se_scales: list[torch.Tensor]
    ) -> torch.Tensor:
        """Pre-cSE output of ``stage`` given the gates of all earlier stages."""
        feats: list[torch.Tensor] = []
        for s in range(stage + 1):
            y = self._stage(s, feats, x)
            if s == stage:
                return y
            feats.append(self._se(s)(y, se_scales[s]))
        raise AssertionError("unreachable")

    def gates_from_means(self, stage: int, means: torch.Tensor) -> torch.Tensor:
        """Compute the cSE gates of ``stage`` from its pooled pre-cSE means ``(N, C)``."""
        return self._se(stage).scales(means)


class Decoder(nn.Module):
    """Deep features ``(N, 64, H, W)`` -> reconstruction ``(N, 1, H, W)`` (training only)."""

    def __init__(self) -> None:
        super().__init__()
        self.blocks = nn.Sequential(ConvBlock(64, 64), ConvBlock(64, 32), ConvBlock(32, 16))
        self.out = nn.Conv2d(16, 1, kernel_size=3, padding=1, bias=True)

    def forward(self, f: torch.Tensor) -> torch.Tensor:
        """Reconstruct one image ``(N, 1, H, W)`` from features ``(N, 64, H, W)``."""
        return self.out(self.blocks(f))


class FusionAutoencoder(nn.Module):
    """Encoder + decoder trained to reconstruct their input (unsupervised)."""

    def __init__(self) -> None:
        super().__init__()
        self.encoder = Encoder()
        self.decoder = Decoder()
        self.sha256: str | None = None  # of the weights file, set by load_autoencoder

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Encode and decode ``x`` ``(N, 1, H, W)``: the reconstruction."""
        return self.decoder(self.encoder(x))


def count_parameters(module: nn.Module) -> int:
    """Count the trainable parameters."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad)
