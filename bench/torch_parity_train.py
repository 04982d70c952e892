#!/usr/bin/python3
"""The PyTorch half of bench/parityTrain.ts (which runs it; run that, not
this): trains the reference VQ-VAE (tools/pytorch/vqvae_torch.py) on
Fashion-MNIST in a given batch order and evaluates it on the test split, so
that this project and PyTorch can be compared step for step.

  /usr/bin/python3 bench/torch_parity_train.py --init FILE --write-init [--ema] [--seed 0]
      writes PyTorch's initial weights (default init, Sonnet codebook) as a
      safetensors state dict and stops;
  /usr/bin/python3 bench/torch_parity_train.py --init FILE --order ORDER.npy [--ema] [--lr 2e-4]
      [--threads 1] [--eval-limit N] [--losses FILE.npy]
      trains from FILE on the images ORDER [steps, batch] (int32 indices into
      the training split, in the order the TypeScript trainer takes them),
      then prints one JSON line: mse, psnr_db, perplexity, codes_used, images,
      final_loss, steps, seconds, batch_checksums (pixel sums of the first and
      last batch, to check both sides read the same images). --losses writes
      the per-step [loss, recon_loss, vq_loss] as float64 [steps, 3].
"""
import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'tools', 'pytorch'))

import numpy as np  # noqa: E402
import torch  # noqa: E402

import safetensors_io  # noqa: E402
import vqvae_torch as vt  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description='PyTorch half of bench/parityTrain.ts')
    parser.add_argument('--init', required=True, help='initial state dict (safetensors)')
    parser.add_argument('--write-init', action='store_true', help='write --init from a fresh model and stop')
    parser.add_argument('--order', help='int32 .npy [steps, batch] of training-image indices')
    parser.add_argument('--ema', action='store_true')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--lr', type=float, default=2e-4)
    parser.add_argument('--threads', type=int, default=1)
    parser.add_argument('--eval-limit', type=int, default=10000)
    parser.add_argument('--losses', help='write per-step losses here (.npy)')
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    config = dict(vt.REFERENCE_CONFIG, quantizer='ema' if args.ema else 'vq')

    if args.write_init:
        torch.manual_seed(args.seed)
        model = vt.VqVaeTorch(config)
        safetensors_io.save(args.init, model.state_dict(), {'source': 'bench/torch_parity_train.py', 'seed': str(args.seed)})
        return
    if not args.order:
        parser.error('--order is needed to train')

    model = vt.VqVaeTorch(config)
    state, _ = safetensors_io.load(args.init)
    model.load_state_dict({k: torch.from_numpy(v) for k, v in state.items()})
    optimizer = vt.make_optimizer(model, args.lr)
    train = vt.fashion_mnist('train')
    variance = vt.pixel_variance(train)
    order = np.load(args.order)
    losses = np.zeros((len(order), 3))
    started = time.perf_counter()
    for step, indices in enumerate(order):
        out = vt.train_step(model, optimizer, vt.to_input(train[indices]), variance)
        losses[step] = [float(out['loss']), float(out['recon_loss']), float(out['vq_loss'])]
    seconds = time.perf_counter() - started
    if args.losses:
        np.save(args.losses, losses)
    metrics = vt.evaluate(model, vt.fashion_mnist('test')[:args.eval_limit])
    metrics.update({
        'final_loss': float(losses[-1, 0]),
        'steps': len(order),
        'seconds': seconds,
        'batch_checksums': [int(train[order[0]].sum()), int(train[order[-1]].sum())],
        'torch': torch.__version__,
        'threads': args.threads,
    })
    print(json.dumps(metrics))


if __name__ == '__main__':
    main()
