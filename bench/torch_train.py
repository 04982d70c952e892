#!/usr/bin/python3
"""Trains the reference VQ-VAE (src/model/config.ts: hidden 128, residual hidden 32,
2 blocks, K 512, D 64, 28x28x1, Adam lr 2e-4) in PyTorch for --steps steps and
reports its speed, so a benchmark can put this project's images/s next to
PyTorch's on the same machine. The model is tools/pytorch/vqvae_torch.py (copy
both files together). Needs Debian's python3-torch; not part of `npm test`.

  /usr/bin/python3 bench/torch_train.py --steps 20 --batch 128 --threads 2 [--ema] [--json]
      [--data random|fashion-mnist] [--lr 2e-4] [--seed 0]

Two warm-up steps run first and are not timed. The last stdout line is one
JSON object: {"images_per_s", "peak_rss_mb", "steps", "final_loss",
"threads", "batch", "quantizer", "data", "torch"}; without --json a
human-readable line precedes it on stderr only.

On a machine shared with other jobs, OpenMP's spinning threads wait on each
other: 2 threads measured 21 images/s against 134 for 1 thread under a load of
5 on 2 cores, and 101 with OMP_WAIT_POLICY=PASSIVE in the environment. The JSON
reports the policy in effect ("omp_wait_policy").
"""
import argparse
import json
import os
import resource
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'tools', 'pytorch'))

import numpy as np  # noqa: E402
import torch  # noqa: E402

import vqvae_torch as vt  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description='Train the reference VQ-VAE in PyTorch and report images/s.')
    parser.add_argument('--steps', type=int, default=20, help='timed steps (after 2 warm-up steps)')
    parser.add_argument('--batch', type=int, default=128)
    parser.add_argument('--threads', type=int, default=1, help='torch.set_num_threads')
    parser.add_argument('--ema', action='store_true', help='EMA codebook instead of the VQ loss')
    parser.add_argument('--data', choices=['random', 'fashion-mnist'], default='random')
    parser.add_argument('--lr', type=float, default=2e-4)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--json', action='store_true', help='print only the JSON line on stdout')
    args = parser.parse_args()
    if args.steps < 1 or args.batch < 1 or args.threads < 1:
        parser.error('--steps, --batch and --threads must be >= 1')

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    if args.data == 'fashion-mnist':
        images = vt.fashion_mnist('train')
    else:
        images = rng.integers(0, 256, size=(max(args.batch * 8, 1024), 28, 28), dtype=np.uint8)
    variance = vt.pixel_variance(images)
    config = dict(vt.REFERENCE_CONFIG, quantizer='ema' if args.ema else 'vq')
    model = vt.VqVaeTorch(config)
    optimizer = vt.make_optimizer(model, args.lr)

    def batch_at(step):
        per_epoch = len(images) // args.batch
        if step % per_epoch == 0:
            batch_at.order = rng.permutation(len(images))
        start = (step % per_epoch) * args.batch
        return vt.to_input(images[batch_at.order[start:start + args.batch]])

    warmup = 2
    loss = float('nan')
    for step in range(warmup):
        loss = float(vt.train_step(model, optimizer, batch_at(step), variance)['loss'])
    started = time.perf_counter()
    for step in range(warmup, warmup + args.steps):
        loss = float(vt.train_step(model, optimizer, batch_at(step), variance)['loss'])
    seconds = time.perf_counter() - started

    result = {
        'images_per_s': args.steps * args.batch / seconds,
        'peak_rss_mb': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        'steps': args.steps,
        'final_loss': loss,
        'threads': args.threads,
        'batch': args.batch,
        'quantizer': config['quantizer'],
        'data': args.data,
        'torch': torch.__version__,
        'omp_wait_policy': os.environ.get('OMP_WAIT_POLICY', 'default'),
    }
    if not args.json:
        print(f"pytorch {torch.__version__}, {args.threads} thread(s), batch {args.batch}, {config['quantizer']}: "
              f"{result['images_per_s']:.1f} images/s over {args.steps} steps, final loss {loss:.4f}, "
              f"peak RSS {result['peak_rss_mb']:.0f} MB", file=sys.stderr)
    print(json.dumps(result))


if __name__ == '__main__':
    main()
