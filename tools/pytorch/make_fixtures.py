#!/usr/bin/python3
"""Writes the PyTorch parity fixtures of test/parity: one training step of a
small VQ-VAE computed by the PyTorch reference, for each quantizer (vq, ema)
of the one-level model (vqvae_torch.py) and of the two-level one
(vqvae2_torch.py), so the TypeScript tests can check this project against it.

  /usr/bin/python3 tools/pytorch/make_fixtures.py [--out test/fixtures/parity] [--only NAME ...]

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

and OUT/levels2/QUANTIZER/ the same for the two-level model (both levels of
that quantizer): config.json in the two-level format ({"format": "vqvae2",
"model": {..., "levels": 2, "topCodebookSize", "topCodeDim"}}), the state dict
in vqvae2_torch.py's names, and each level's z_e, z_q, indices, vq_loss,
commitment_loss and perplexity as top.NAME and bottom.NAME next to
reconstruction, loss, recon_loss and vq_loss (both levels'). levels2/vq is 28x28
Fashion-MNIST (the odd 7 -> 4 top grid), levels2/ema 32x32 CIFAR-10 colour
images (8 -> 4), the first training image of its first four classes.

The reference runs in float64 from the float32 weights, so the expected values
carry no float32 rounding of their own. A fixture is kept only when PyTorch in
float32, with and without oneDNN (two summation orders), picks the same codes
and lands within 1e-6 (outputs), 1e-5 (gradients) and 2e-6 (weights after
the step) of the tensor's largest value, ten times inside the tests'
tolerances, and every vector's nearest code beats the runner-up by 1e-4 of
the mean distance (on each level). Adam's first step, lr * g / (|g| + eps), is
steep for gradients near eps, which is why the step needs its own check. Each
codebook starts as k-means centres of the batch's vectors plus noise (the
bottom one given the top level's new codes), so at least half of its codes are
in use. Images of the one-level fixtures: the first four of Fashion-MNIST's
training set.
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
import vqvae2_torch as v2  # noqa: E402
import vqvae_torch as vt  # noqa: E402

CONFIG = {
    'inputChannels': 1, 'imageHeight': 28, 'imageWidth': 28,
    'hidden': 16, 'resHidden': 8, 'resBlocks': 2,
    'codebookSize': 32, 'codeDim': 8, 'downsamples': 2,
    'quantizer': 'vq', 'beta': 0.25, 'decay': 0.99, 'epsilon': 1e-5,
}
# The two-level model (vqvae2_torch.py): the bottom level's K and D are
# codebookSize and codeDim, the top level's its own (a different D, so a
# mapping that mixed the levels up would not fit).
LEVELS2_CONFIG = dict(CONFIG, hidden=8, resHidden=4, topCodebookSize=16, topCodeDim=4)
LEVELS = ('top', 'bottom')
CIFAR_DIR = '/work/shared/datasets/cifar10-jpg'
BATCH = 4
LEARNING_RATE = 2e-4
# Nearest code must beat the runner-up by this much of the distance scale.
MIN_MARGIN = 1e-4


def nhwc(t):
    return t.detach().permute(0, 2, 3, 1).contiguous()


def level_outputs(out, prefix=''):
    """One quantizer's outputs in the fixture's layout, names prefixed by `prefix`."""
    return {
        f'{prefix}z_e': nhwc(out['z_e']), f'{prefix}z_q': nhwc(out['z_q']),
        f'{prefix}indices': out['indices'].to(torch.int32), f'{prefix}vq_loss': out['vq_loss'].detach(),
        f'{prefix}commitment_loss': out['commitment_loss'].detach(), f'{prefix}perplexity': out['perplexity'].detach(),
    }


def run_step(model, pixels, variance, lr):
    """Forward, gradients and one step; returns ({name: tensor} in the fixture's layout, the forward's dict)."""
    two = isinstance(model, v2.VqVae2Torch)
    x = vt.to_input(pixels, dtype=next(model.parameters()).dtype)
    optimizer = vt.make_optimizer(model, lr)
    optimizer.zero_grad(set_to_none=True)
    out = (v2 if two else vt).losses(model, x, variance)
    out['loss'].backward()
    result = {'reconstruction': nhwc(out['x_hat']), 'loss': out['loss'].detach(),
              'recon_loss': out['recon_loss'].detach(), 'vq_loss': out['vq_loss'].detach()}
    if two:
        for level in LEVELS:
            result.update(level_outputs(out[level], f'{level}.'))
    else:
        result.update(level_outputs(out))
    for name, p in model.named_parameters():
        if p.requires_grad:
            result[f'grad.{name}'] = p.grad.detach().clone()
    optimizer.step()
    if two:
        v2.ema_updates(model, out)
    elif model.vq.ema:
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


@torch.no_grad()
def init_codebook(vq, z):
    """vq's codebook (and EMA sums) := k-means centres of z [b, D, h, w] plus noise."""
    flat = z.permute(0, 2, 3, 1).reshape(-1, vq.d)
    codebook = kmeans(flat, vq.k)
    codebook += 0.05 * flat.std() * torch.randn(vq.k, vq.d)
    vq.embedding.weight.copy_(codebook)
    if vq.ema:
        vq.ema_w.copy_(codebook)


def build(config, pixels, seed):
    torch.manual_seed(seed)
    model = vt.VqVaeTorch(config)
    with torch.no_grad():
        init_codebook(model.vq, model.pre_vq_conv(model.encoder(vt.to_input(pixels))))
    return model


def build_levels2(config, pixels, seed):
    """Both codebooks from k-means: the top one of the top vectors, then the
    bottom one of the bottom vectors given the new top codes."""
    torch.manual_seed(seed)
    model = v2.VqVae2Torch(config)
    with torch.no_grad():
        features, z_top = model.encode_top(vt.to_input(pixels))
        init_codebook(model.quantize_t, z_top)
        init_codebook(model.quantize_b, model.encode_bottom(features, model.quantize_t(z_top)['z_q']))
    return model


def quantizers(model):
    """(name in the state dict, VectorQuantizer, its forward's dict key) of each level."""
    if isinstance(model, v2.VqVae2Torch):
        return [('quantize_t', model.quantize_t, 'top'), ('quantize_b', model.quantize_b, 'bottom')]
    return [('vq', model.vq, None)]


def make(name, config, config_file, pixels, out_dir, builder):
    """Searches seeds for a fixture that passes the checks of the docstring and writes it to out_dir."""
    variance = vt.pixel_variance(pixels)
    for seed in range(500):
        model32 = builder(config, pixels, seed)
        state = {k: v.detach().clone() for k, v in model32.state_dict().items()}
        model64 = copy.deepcopy(model32).double()
        expected, out64 = run_step(model64, pixels, variance, LEARNING_RATE)
        got32, _ = run_step(copy.deepcopy(model32), pixels, variance, LEARNING_RATE)
        with torch.backends.mkldnn.flags(enabled=False):
            other32, _ = run_step(copy.deepcopy(model32), pixels, variance, LEARNING_RATE)
        levels_ok, described = True, []
        for prefix, vq, key in quantizers(model32):
            out = out64[key] if key else out64
            margin = margins(out['flat'].detach(), state[f'{prefix}.embedding.weight'].double()).min().item()
            used = int((out['counts'] > 0).sum())
            levels_ok = levels_ok and used >= vq.k // 2 and margin > MIN_MARGIN
            described.append(f'{key + " " if key else ""}codes used {used}/{vq.k}, min margin {margin:.2e}')
        runs = (got32, other32)
        same = all(torch.equal(expected[k], r[k]) for r in runs for k in expected if k.endswith('indices'))

        def worst(keep):
            return max(relative(r[k], expected[k]) for r in runs for k in expected if keep(k))
        worst_out = worst(lambda k: not k.startswith(('grad.', 'step.')) and not k.endswith('indices'))
        worst_grad = worst(lambda k: k.startswith('grad.'))
        worst_step = worst(lambda k: k.startswith('step.'))
        ok = levels_ok and same and worst_out < 1e-6 and worst_grad < 1e-5 and worst_step < 2e-6
        print(f'{name} seed {seed}: {", ".join(described)}, '
              f'float32 vs float64: indices {"same" if same else "DIFFER"}, outputs {worst_out:.1e}, '
              f'gradients {worst_grad:.1e}, step {worst_step:.1e}{"" if ok else "  (rejected)"}')
        if ok:
            break
    else:
        raise SystemExit(f'{name}: no seed gave an unambiguous fixture')

    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, 'config.json'), 'w') as f:
        json.dump(config_file, f, indent=2)
        f.write('\n')
    meta = {'source': 'tools/pytorch/make_fixtures.py', 'torch': torch.__version__, 'seed': str(seed)}
    safetensors_io.save(os.path.join(out_dir, 'state_dict.safetensors'),
                        {k: v.float() for k, v in state.items()}, meta)
    tensors = {'pixels': pixels if pixels.ndim == 4 else pixels[..., None].copy(),
               'data_variance': np.array(variance, dtype=np.float64),
               'learning_rate': np.array(LEARNING_RATE, dtype=np.float64)}
    for k, v in expected.items():
        tensors[k] = v if v.dtype == torch.int32 else v.float()
    safetensors_io.save(os.path.join(out_dir, 'expected.safetensors'), tensors, meta)


def cifar_pixels(count, directory=CIFAR_DIR):
    """uint8 [count, 32, 32, 3]: the first training image of each of the first `count` classes."""
    from PIL import Image
    classes = sorted(os.listdir(os.path.join(directory, 'train')))[:count]
    return np.stack([np.asarray(Image.open(os.path.join(directory, 'train', c, '0000.jpg')).convert('RGB')) for c in classes])


def fixtures():
    """name -> (directory under --out, a function writing it there)."""
    def one(kind):
        config = dict(CONFIG, quantizer=kind)
        file = {'format': 'vqvae', 'version': 1, 'model': config}
        return kind, (kind, lambda out: make(kind, config, file, vt.fashion_mnist('train')[:BATCH], out, build))

    def two(kind, pixels, size):
        config = dict(LEVELS2_CONFIG, quantizer=kind, imageHeight=size, imageWidth=size, inputChannels=3 if pixels == 'cifar' else 1)
        file = {'format': 'vqvae2', 'version': 1, 'model': dict(config, levels=2)}
        images = (lambda: cifar_pixels(BATCH)) if pixels == 'cifar' else (lambda: vt.fashion_mnist('train')[:BATCH])
        return os.path.join('levels2', kind), lambda out: make(f'levels2 {kind}', config, file, images(), out, build_levels2)

    return dict([one('vq'), one('ema')], **{
        'levels2-vq': two('vq', 'fashion-mnist', 28),
        'levels2-ema': two('ema', 'cifar', 32),
    })


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--out', default=os.path.join('test', 'fixtures', 'parity'))
    parser.add_argument('--only', nargs='+', choices=sorted(FIXTURES), help='write only these fixtures')
    args = parser.parse_args()
    torch.set_num_threads(1)
    for name in args.only or FIXTURES:
        directory, write = FIXTURES[name]
        write(os.path.join(args.out, directory))
    total = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(args.out) for f in fs)
    print(f'wrote {args.out} ({total / 1024:.0f} KiB)')


FIXTURES = fixtures()


if __name__ == '__main__':
    main()
