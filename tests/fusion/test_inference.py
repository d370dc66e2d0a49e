"""The encoder's inference form gives the module's deep-feature energy."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from brainfuse.fusion import inference
from brainfuse.fusion.activity import gradient_energy
from brainfuse.fusion.device import keep_freed_memory
from brainfuse.fusion.inference import EnergyEncoder
from brainfuse.fusion.weights import load_autoencoder

from .conftest import textured


@pytest.fixture(scope="module")
def encoder():
    return load_autoencoder(None).encoder.eval()


def _images(shape=(2, 1, 70, 90)) -> torch.Tensor:
    n = shape[0]
    stack = np.stack([textured(shape[2:], seed=i) for i in range(n)])[:, None]
    return torch.from_numpy(stack)


def test_energy_equals_module_features(encoder):
    x = _images()
    with torch.inference_mode():
        ref = gradient_energy(encoder(x))
        got = EnergyEncoder(encoder)(x)
    assert got.shape == ref.shape
    assert torch.allclose(got, ref, rtol=1e-5, atol=1e-5 * float(ref.abs().max()))


def test_energy_with_given_gates_equals_module(encoder):
    x = _images((1, 1, 48, 40))
    gates = [torch.rand(1, 16, generator=torch.Generator().manual_seed(s)) for s in range(4)]
    with torch.inference_mode():
        ref = gradient_energy(encoder(x, se_scales=gates))
        got = EnergyEncoder(encoder)(x, se_scales=gates)
    assert torch.allclose(got, ref, rtol=1e-5, atol=1e-5 * float(ref.abs().max()))


@pytest.mark.parametrize("stages", [1, 2, 3])
def test_energy_of_the_first_stages_is_that_of_their_feature_maps(encoder, stages):
    # the deep features are the stages' 16 maps each, concatenated: the first stages' energy
    # is the energy of the first 16 * stages maps, and no later convolution changes it
    x = _images((2, 1, 50, 60))
    with torch.inference_mode():
        ref = gradient_energy(encoder(x)[:, : 16 * stages])
        got = EnergyEncoder(encoder)(x, stages=stages)
        every = EnergyEncoder(encoder)(x)
    assert torch.allclose(got, ref, rtol=1e-5, atol=1e-5 * float(ref.abs().max()))
    assert float((every - got).min()) >= 0 and float((every - got).max()) > 0


def test_energy_of_each_image_does_not_depend_on_its_batch(encoder, monkeypatch):
    x = _images((3, 1, 40, 40))
    energy = EnergyEncoder(encoder)
    with torch.inference_mode():
        together = energy(x)
        alone = energy(x[1:2])
        # batches split into chunks of one image give the same energies
        monkeypatch.setattr(inference, "_CHUNK_BYTES", 16 * 40 * 40 * 4)
        chunked = energy(x)
    assert torch.allclose(together[1:2], alone, rtol=1e-5, atol=1e-6)
    assert torch.allclose(together, chunked, rtol=1e-5, atol=1e-6)


def test_allocator_setting_applies_on_linux():
    applied = keep_freed_memory()
    import sys

    assert applied == sys.platform.startswith("linux")
