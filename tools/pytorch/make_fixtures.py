#!/usr/bin/python3
"""Writes the PyTorch parity fixtures of test/parity: for each quantizer (vq,
ema), one training step of a small VQ-VAE computed by the PyTorch reference
(vqvae_torch.py), so the TypeScript tests can check this project against it.

  /usr/bin/python3 tools/pytorch/make_fixtures.py [--out test/fixtures/parity]

For each QUANTIZER in vq, ema, OUT/QUANTIZER/ holds
  config.json               the model config in this project's format ({"format": "vqvae", ...})
  state_dict.safetensors    PyTorch's state dict of the starting weights, float32,
                            PyTorch names and layouts (what `vqvae import --from-pytorch` reads)
  expected.safetensors      pixels U8 [b, H, W, C]; data_variance, learning_rate F64 [];
                            z_e, z_q [b, h, w, D], indices I32 [b, h, w], reconstruction
                            [b, H, W, C] (NHWC, this project's layout); loss, recon_loss,
                            vq_loss, commitment_loss, perplexity []; grad.NAME (every
                            parameter's gradient, PyTorch name and layout); step.NAME
                            (every state-dict tensor after one Adam step and, for ema,
                            the EMA update)

The reference runs in float64 from the float32 weights, so the expected values
carry no float32 rounding of their own. A fixture is kept only when PyTorch in
float32, with and without oneDNN (two summation orders), picks the same codes
and lands within 1e-6 (outputs), 1e-5 (gradients) and 2e-6 (weights after
the step) of the tensor's largest value, ten times inside the tests'
tolerances, and every vector's nearest code beats the runner-up by 1e-4 of
the mean distance. Adam's first step, lr * g / (|g| + eps), is steep for
gradients near eps, which is why the step needs its own check. The codebook
starts as k-means centres of the batch's encoder outputs plus noise, so at
least half of the codes are in use. Images: the first four of
Fashion-MNIST's training set.
"""
import argparse
import copy
import json
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import safetensors_io  # noqa: E402
import vqvae_torch as vt  # noqa: E402

CONFIG = {
    'inputChannels': 1, 'imageHeight': 28, 'imageWidth': 28,
    'hidden': 16, 'resHidden': 8, 'resBlocks': 2,
    'codebookSize': 32, 'codeDim': 8, 'downsamples': 2,
    'quantizer': 'vq', 'beta': 0.25, 'decay': 0.99, 'epsilon': 1e-5,
}
BATCH = 4
LEARNING_RATE = 2e-4
# Nearest code must beat the runner-up by this much of the distance scale.
MIN_MARGIN = 1e-4


def nhwc(t):
    return t.detach().permute(0, 2, 3, 1).contiguous()


def run_step(model, pixels, variance, lr):
    """Forward, gradients and one step; returns {name: tensor} in the fixture's layout."""
    x = vt.to_input(pixels, dtype=next(model.parameters()).dtype)
    optimizer = vt.make_optimizer(model, lr)
    optimizer.zero_grad(set_to_none=True)
    out = vt.losses(model, x, variance)
    out['loss'].backward()
    result = {
        'z_e': nhwc(out['z_e']), 'z_q': nhwc(out['z_q']), 'reconstruction': nhwc(out['x_hat']),
        'indices': out['indices'].to(torch.int32),
        'loss': out['loss'].detach(), 'recon_loss': out['recon_loss'].detach(),
        'vq_loss': out['vq_loss'].detach(), 'commitment_loss': out['commitment_loss'].detach(),
        'perplexity': out['perplexity'].detach(),
    }
    for name, p in model.named_parameters():
        if p.requires_grad:
            result[f'grad.{name}'] = p.grad.detach().clone()
    optimizer.step()
    if model.vq.ema:
        model.vq.ema_update(out['flat'].detach(), out['indices'])
    for name, t in model.state_dict().items():
        result[f'step.{name}'] = t.detach().clone()
    return result, out


def kmeans(flat, k, iterations=10):
    """k centres of the rows of `flat` by Lloyd's algorithm from k random rows."""
    centres = flat[torch.randperm(flat.shape[0])[:k]].clone()
    for _ in range(iterations):
        nearest = ((flat[:, None, :] - centres[None]) ** 2).sum(-1).argmin(1)
        for j in range(k):
            members = flat[nearest == j]
            if len(members) > 0:
                centres[j] = members.mean(0)
    return centres


def margins(flat, codebook):
    """(second-nearest - nearest) / mean distance, per vector."""
    d = ((flat[:, None, :] - codebook[None, :, :]) ** 2).sum(-1)
    two = d.topk(2, dim=1, largest=False).values
    return (two[:, 1] - two[:, 0]) / d.mean()


def relative(a, b):
    scale = b.abs().max().item()
    return (a.double() - b.double()).abs().max().item() / (scale if scale > 0 else 1)


def build(kind, pixels, seed):
    config = dict(CONFIG, quantizer=kind)
    torch.manual_seed(seed)
    model = vt.VqVaeTorch(config)
    with torch.no_grad():
        z = model.pre_vq_conv(model.encoder(vt.to_input(pixels)))
        flat = z.permute(0, 2, 3, 1).reshape(-1, config['codeDim'])
        codebook = kmeans(flat, config['codebookSize'])
        codebook += 0.05 * flat.std() * torch.randn(config['codebookSize'], config['codeDim'])
        model.vq.embedding.weight.copy_(codebook)
        if kind == 'ema':
            model.vq.ema_w.copy_(codebook)
    return config, model


def make(kind, pixels, out_dir):
    variance = vt.pixel_variance(pixels)
    for seed in range(500):
        config, model32 = build(kind, pixels, seed)
        state = {k: v.detach().clone() for k, v in model32.state_dict().items()}
        model64 = copy.deepcopy(model32).double()
        expected, out64 = run_step(model64, pixels, variance, LEARNING_RATE)
        got32, _ = run_step(copy.deepcopy(model32), pixels, variance, LEARNING_RATE)
        with torch.backends.mkldnn.flags(enabled=False):
            other32, _ = run_step(copy.deepcopy(model32), pixels, variance, LEARNING_RATE)
        margin = margins(out64['flat'].detach(), state['vq.embedding.weight'].double()).min().item()
        used = int((out64['counts'] > 0).sum())
        runs = (got32, other32)
        same = all(torch.equal(expected['indices'], r['indices']) for r in runs)

        def worst(keep):
            return max(relative(r[k], expected[k]) for r in runs for k in expected if keep(k))
        worst_out = worst(lambda k: not k.startswith(('grad.', 'step.')) and k != 'indices')
        worst_grad = worst(lambda k: k.startswith('grad.'))
        worst_step = worst(lambda k: k.startswith('step.'))
        ok = (same and used >= config['codebookSize'] // 2 and margin > MIN_MARGIN
              and worst_out < 1e-6 and worst_grad < 1e-5 and worst_step < 2e-6)
        print(f'{kind} seed {seed}: codes used {used}/{config["codebookSize"]}, min margin {margin:.2e}, '
              f'float32 vs float64: indices {"same" if same else "DIFFER"}, outputs {worst_out:.1e}, '
              f'gradients {worst_grad:.1e}, step {worst_step:.1e}{"" if ok else "  (rejected)"}')
        if ok:
            break
    else:
        raise SystemExit(f'{kind}: no seed gave an unambiguous fixture')

    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, 'config.json'), 'w') as f:
        json.dump({'format': 'vqvae', 'version': 1, 'model': config}, f, indent=2)
        f.write('\n')
    meta = {'source': 'tools/pytorch/make_fixtures.py', 'torch': torch.__version__, 'seed': str(seed)}
    safetensors_io.save(os.path.join(out_dir, 'state_dict.safetensors'),
                        {k: v.float() for k, v in state.items()}, meta)
    tensors = {'pixels': pixels[..., None].copy(),
               'data_variance': np.array(variance, dtype=np.float64),
               'learning_rate': np.array(LEARNING_RATE, dtype=np.float64)}
    for k, v in expected.items():
        tensors[k] = v if v.dtype == torch.int32 else v.float()
    safetensors_io.save(os.path.join(out_dir, 'expected.safetensors'), tensors, meta)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--out', default=os.path.join('test', 'fixtures', 'parity'))
    args = parser.parse_args()
    torch.set_num_threads(1)
    pixels = vt.fashion_mnist('train')[:BATCH]
    for kind in ('vq', 'ema'):
        make(kind, pixels, os.path.join(args.out, kind))
    total = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(args.out) for f in fs)
    print(f'wrote {args.out} ({total / 1024:.0f} KiB)')


if __name__ == '__main__':
    main()
