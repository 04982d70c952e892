"""The VQ-VAE of this project written in PyTorch, layer for layer as
src/model and src/quantize build it, as the independent reference that
parity fixtures and benchmarks compare against (Debian's python3-torch,
run with /usr/bin/python3; not needed by `npm test`).

Layout NCHW, weights in PyTorch's own layouts (Conv2d [out, in, kh, kw],
ConvTranspose2d [in, out, kh, kw]) under natural module names; with
n = downsamples (2 in the reference sizes) the state dict holds

  encoder.conv1 .. encoder.conv{n}   4x4 stride-2 convs (to h/2, ..., h), ReLU after each
  encoder.conv{n+1}                  3x3 conv h -> h
  encoder.res.{i}.conv1 / .conv2     residual block i: 3x3 h -> r, 1x1 r -> h
  pre_vq_conv                        1x1 conv h -> D
  vq.embedding.weight                codebook [K, D]
  vq.ema_cluster_size, vq.ema_w      EMA quantizer only: N [K] and m [K, D]
  decoder.conv1                      3x3 conv D -> h
  decoder.res.{i}.conv1 / .conv2
  decoder.conv_trans1 .. {n}         4x4 stride-2 transposed convs (to h/2, ..., C)

src/model/pytorch.ts maps these names to the project's. Inputs are pixels/255
- 0.5; loss = mean((x_hat - x)^2) / var(data) + VQ loss, the VQ loss being
codebook + beta * commitment (VQ) or beta * commitment (EMA), each a mean over
all elements; z_q = z_e + stopgrad(e_k - z_e).
"""
import gzip
import math
import os

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

REFERENCE_CONFIG = {
    'inputChannels': 1, 'imageHeight': 28, 'imageWidth': 28,
    'hidden': 128, 'resHidden': 32, 'resBlocks': 2,
    'codebookSize': 512, 'codeDim': 64, 'downsamples': 2,
    'quantizer': 'vq', 'beta': 0.25, 'decay': 0.99, 'epsilon': 1e-5,
}


class ResidualBlock(nn.Module):
    """x + conv2(relu(conv1(relu(x)))): 3x3 to the residual width, 1x1 back."""

    def __init__(self, hidden, res_hidden):
        super().__init__()
        self.conv1 = nn.Conv2d(hidden, res_hidden, 3, 1, 1)
        self.conv2 = nn.Conv2d(res_hidden, hidden, 1, 1, 0)

    def forward(self, x):
        return x + self.conv2(F.relu(self.conv1(F.relu(x))))


def residual_stack(blocks, x):
    for block in blocks:
        x = block(x)
    return F.relu(x)


def same_padding(size, kernel, stride):
    """TensorFlow's 'same' padding of one axis: (before, after), the odd one after."""
    total = max((math.ceil(size / stride) - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


def conv_same(conv, x):
    """`conv` (its own padding ignored) with 'same' padding: ceil(size / stride) out, also for odd sizes (7 -> 4)."""
    (top, bottom), (left, right) = (same_padding(s, conv.kernel_size[0], conv.stride[0]) for s in x.shape[2:])
    return F.conv2d(F.pad(x, (left, right, top, bottom)), conv.weight, conv.bias, conv.stride)


def conv_transpose_to(conv, x, size):
    """The transpose of the 'same' convolution from `size` [H, W] to x's grid:
    PyTorch's full transposed convolution, cropped by that convolution's
    padding (the odd one at the bottom and right, so 4 -> 7 as well as 4 -> 8)."""
    full = F.conv_transpose2d(x, conv.weight, conv.bias, conv.stride)
    (top, _), (left, _) = (same_padding(s, conv.kernel_size[0], conv.stride[0]) for s in size)
    return full[:, :, top:top + size[0], left:left + size[1]]


class Encoder(nn.Module):
    """The trunk of encoder.ts: n stride-2 4x4 convs, a 3x3, the residual
    stack. `in_channels`, `downsamples` and `same` (TensorFlow's 'same'
    padding in place of PyTorch's 1, for odd sizes) place it elsewhere in a
    model (vqvae2_torch.py); the defaults are the one-level encoder's."""

    def __init__(self, c, in_channels=None, downsamples=None, same=False):
        super().__init__()
        n = c['downsamples'] if downsamples is None else downsamples
        h = c['hidden']
        self.n, self.same = n, same
        channels = c['inputChannels'] if in_channels is None else in_channels
        for i in range(n):
            out = h if i == n - 1 else h // 2
            setattr(self, f'conv{i + 1}', nn.Conv2d(channels, out, 4, 2, 1))
            channels = out
        setattr(self, f'conv{n + 1}', nn.Conv2d(h, h, 3, 1, 1))
        self.res = nn.ModuleList(ResidualBlock(h, c['resHidden']) for _ in range(c['resBlocks']))

    def forward(self, x):
        for i in range(self.n):
            conv = getattr(self, f'conv{i + 1}')
            x = F.relu(conv_same(conv, x) if self.same else conv(x))
        return residual_stack(self.res, getattr(self, f'conv{self.n + 1}')(x))


class Decoder(nn.Module):
    """decoder.ts: a 3x3 conv, the residual stack, n stride-2 transposed 4x4
    convs. `in_channels`, `out_channels`, `upsamples` and `out_size` ([H, W];
    stage i gives ceil(H / 2^(n-1-i)), conv_transpose_to) place it elsewhere
    in a model (vqvae2_torch.py); the defaults are the one-level decoder's."""

    def __init__(self, c, in_channels=None, out_channels=None, upsamples=None, out_size=None):
        super().__init__()
        n = c['downsamples'] if upsamples is None else upsamples
        h = c['hidden']
        self.n, self.out_size = n, out_size
        self.conv1 = nn.Conv2d(c['codeDim'] if in_channels is None else in_channels, h, 3, 1, 1)
        self.res = nn.ModuleList(ResidualBlock(h, c['resHidden']) for _ in range(c['resBlocks']))
        channels = h
        for i in range(n):
            out = (c['inputChannels'] if out_channels is None else out_channels) if i == n - 1 else h // 2
            setattr(self, f'conv_trans{i + 1}', nn.ConvTranspose2d(channels, out, 4, 2, 1))
            channels = out

    def forward(self, z):
        x = residual_stack(self.res, self.conv1(z))
        for i in range(self.n):
            conv = getattr(self, f'conv_trans{i + 1}')
            if self.out_size is None:
                x = conv(x)
            else:
                x = conv_transpose_to(conv, x, [math.ceil(s / 2 ** (self.n - 1 - i)) for s in self.out_size])
            if i < self.n - 1:
                x = F.relu(x)
        return x


class VectorQuantizer(nn.Module):
    """Nearest code by squared L2 distance, computed as ||e||^2 - 2 z.e as
    src/quantize/ops.ts does; codebook initialised as Sonnet does (uniform in
    +-sqrt(3 / D)). With `ema`, the codebook is a plain tensor updated by
    `ema_update` after each step from N = 1, m = e."""

    def __init__(self, c):
        super().__init__()
        k, d = c['codebookSize'], c['codeDim']
        self.k, self.d, self.beta = k, d, c['beta']
        self.ema = c['quantizer'] == 'ema'
        self.decay, self.epsilon = c['decay'], c['epsilon']
        self.embedding = nn.Embedding(k, d)
        limit = math.sqrt(3 / d)
        nn.init.uniform_(self.embedding.weight, -limit, limit)
        if self.ema:
            self.embedding.weight.requires_grad_(False)
            self.register_buffer('ema_cluster_size', torch.ones(k))
            self.register_buffer('ema_w', self.embedding.weight.detach().clone())

    def forward(self, z_e):
        """z_e [b, D, h, w] -> dict of z_q (NCHW), indices [b, h, w] and the loss terms."""
        b, d, h, w = z_e.shape
        flat = z_e.permute(0, 2, 3, 1).reshape(-1, d)
        e = self.embedding.weight
        distances = (e * e).sum(1)[None, :] - 2 * flat @ e.t()
        indices = distances.argmin(1)
        codes = e[indices]
        commitment = F.mse_loss(flat, codes.detach())
        if self.ema:
            codebook_loss = torch.zeros((), dtype=flat.dtype)
            loss = self.beta * commitment
        else:
            codebook_loss = F.mse_loss(flat.detach(), codes)
            loss = codebook_loss + self.beta * commitment
        straight = flat + (codes - flat).detach()
        z_q = straight.reshape(b, h, w, d).permute(0, 3, 1, 2)
        counts = torch.bincount(indices, minlength=self.k).to(flat.dtype)
        return {
            'z_q': z_q, 'indices': indices.reshape(b, h, w), 'flat': flat,
            'vq_loss': loss, 'commitment_loss': commitment, 'codebook_loss': codebook_loss,
            'counts': counts, 'perplexity': perplexity(counts),
        }

    @torch.no_grad()
    def ema_update(self, flat, indices):
        """Equations 6-8 with Laplace smoothing, in the order of vectorQuantizerEma.ts."""
        idx = indices.reshape(-1)
        counts = torch.bincount(idx, minlength=self.k).to(flat.dtype)
        sums = torch.zeros(self.k, self.d, dtype=flat.dtype).index_add_(0, idx, flat)
        g = self.decay
        count = self.ema_cluster_size * g + counts * (1 - g)
        total = self.ema_w * g + sums * (1 - g)
        n = count.sum()
        smoothed = (count + self.epsilon) / (n + self.k * self.epsilon) * n
        self.ema_cluster_size.copy_(count)
        self.ema_w.copy_(total)
        self.embedding.weight.copy_(total / smoothed[:, None])


def perplexity(counts):
    p = counts / counts.sum().clamp(min=1)
    return torch.exp(-(p * torch.log(p + 1e-10)).sum())


class VqVaeTorch(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.config = dict(config)
        self.encoder = Encoder(config)
        self.pre_vq_conv = nn.Conv2d(config['hidden'], config['codeDim'], 1, 1, 0)
        self.vq = VectorQuantizer(config)
        self.decoder = Decoder(config)

    def forward(self, x):
        """x [b, C, H, W] in input scale -> dict with z_e, z_q, indices, losses, x_hat."""
        z_e = self.pre_vq_conv(self.encoder(x))
        out = self.vq(z_e)
        out['z_e'] = z_e
        out['x_hat'] = self.decoder(out['z_q'])
        return out


def losses(model, x, data_variance):
    """The training loss of src/train/trainer.ts and its terms."""
    out = model(x)
    out['recon_loss'] = F.mse_loss(out['x_hat'], x) / data_variance
    out['loss'] = out['recon_loss'] + out['vq_loss']
    return out


def train_step(model, optimizer, x, data_variance):
    """One step as the project's trainer takes it: Adam on the loss, then the EMA update."""
    optimizer.zero_grad(set_to_none=True)
    out = losses(model, x, data_variance)
    out['loss'].backward()
    optimizer.step()
    if model.vq.ema:
        model.vq.ema_update(out['flat'].detach(), out['indices'])
    return out


def make_optimizer(model, lr):
    """PyTorch's Adam (beta1 0.9, beta2 0.999, eps 1e-8) over the trainable parameters."""
    params = [p for p in model.parameters() if p.requires_grad]
    return torch.optim.Adam(params, lr=lr, betas=(0.9, 0.999), eps=1e-8)


# --- data ---------------------------------------------------------------

FASHION_MNIST_DIR = '/usr/share/datasets/fashion-mnist'


def read_idx_images(path):
    """An IDX3 file (optionally .gz) -> uint8 [n, rows, cols]."""
    opener = gzip.open if path.endswith('.gz') else open
    with opener(path, 'rb') as f:
        raw = f.read()
    magic, n, rows, cols = np.frombuffer(raw[:16], dtype='>i4')
    if magic != 2051:
        raise ValueError(f'{path}: not an IDX3 image file')
    return np.frombuffer(raw[16:], dtype=np.uint8).reshape(n, rows, cols)


def fashion_mnist(split, directory=FASHION_MNIST_DIR):
    prefix = 'train' if split == 'train' else 't10k'
    for name in (f'{prefix}-images-idx3-ubyte.gz', f'{prefix}-images-idx3-ubyte'):
        path = os.path.join(directory, name)
        if os.path.exists(path):
            return read_idx_images(path)
    raise FileNotFoundError(f'{directory}: no {prefix}-images-idx3-ubyte(.gz)')


def pixel_variance(images):
    """var of the pixels scaled to [0, 1], as src/train/batches.ts computes it."""
    v = images.astype(np.float64).ravel()
    return float((np.mean(v * v) - np.mean(v) ** 2) / (255 * 255))


def to_input(images, dtype=torch.float32):
    """uint8 [n, H, W] or [n, H, W, C] -> x [n, C, H, W] = pixels/255 - 0.5."""
    a = images if images.ndim == 4 else images[..., None]
    x = torch.from_numpy(a.astype(np.float32) / 255 - 0.5)
    return x.permute(0, 3, 1, 2).contiguous().to(dtype)


@torch.no_grad()
def evaluate(model, images, batch=256):
    """mse (reconstruction clipped to [0, 1]), psnr_db, perplexity and codes_used
    over a whole set, as src/train/evaluate.ts computes them."""
    counts = np.zeros(model.vq.k, dtype=np.float64)
    squared = 0.0
    for start in range(0, len(images), batch):
        x = to_input(images[start:start + batch])
        out = model(x)
        shown = (out['x_hat'] + 0.5).clamp(0, 1)
        squared += float(((shown - (x + 0.5)) ** 2).sum(dtype=torch.float64))
        counts += np.bincount(out['indices'].reshape(-1).numpy(), minlength=model.vq.k)
    mse = squared / images[..., None].size if images.ndim == 3 else squared / images.size
    p = counts[counts > 0] / counts.sum()
    return {
        'mse': mse, 'psnr_db': 10 * math.log10(1 / mse),
        'perplexity': float(np.exp(-(p * np.log(p)).sum())), 'codes_used': int((counts > 0).sum()),
        'images': len(images),
    }
