"""The two-level VQ-VAE of this project (VQ-VAE-2, src/model/hierarchical.ts)
written in PyTorch, layer for layer, as the independent reference of the
two-level parity fixtures (make_fixtures.py; Debian's python3-torch, run with
/usr/bin/python3; not needed by `npm test`).

Laid out and named as rosinality/vq-vae-2-pytorch's VQVAE (enc_b, enc_t,
quantize_conv_t, quantize_t, dec_t, quantize_conv_b, quantize_b, upsample_t,
dec), its parts the one-level reference's blocks (vqvae_torch.py: Encoder,
Decoder, VectorQuantizer, their names inside), NCHW, PyTorch layouts. With n
= downsamples, h = hidden, Dt, Db the levels' code dimensions:

  enc_b            Encoder, n stages, C -> h           (encoder.bottom in src/model/pytorch.ts's table)
  enc_t            Encoder, 1 stage h -> h, 'same' padding (7 -> 4 as well as 8 -> 4)
  quantize_conv_t  1x1 conv h -> Dt
  quantize_t       VectorQuantizer Kt x Dt (vq or ema)
  dec_t            Decoder, 1 stage, Dt -> h -> Dt, to the bottom grid (4 -> 7 or 8)
  quantize_conv_b  1x1 conv on cat([dec_t, enc_b]) (Dt + h) -> Db
  quantize_b       VectorQuantizer Kb x Db
  upsample_t       4x4 stride-2 transposed conv Dt -> Dt, to the bottom grid
  dec              Decoder, n stages, on cat([upsample_t, z_q,b]) (Dt + Db) -> C

Where rosinality's differ, this follows the project: its top encoder's
stride-2 conv keeps h channels (rosinality's goes to h/2, then a 3x3 back to
h), each level has its own K and D, the quantizers are vqvae_torch.py's (vq
or ema, codebook [K, D]: rosinality's EMA `embed` buffer is [D, K]), odd
grids are padded as TensorFlow's 'same', and the loss is the one-level
reference's with both levels' VQ losses added.
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

import vqvae_torch as vt


def top_config(config):
    """The one-level config of the top level's quantizer (its own K and D)."""
    return dict(config, codebookSize=config['topCodebookSize'], codeDim=config['topCodeDim'])


def level_grids(config):
    """[H, W] of the bottom and top code grids, as levelGrids (src/model/hierarchical.ts)."""
    f = 2 ** config['downsamples']
    bottom = [config['imageHeight'] // f, config['imageWidth'] // f]
    return bottom, [math.ceil(s / 2) for s in bottom]


class VqVae2Torch(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.config = dict(config)
        c, t = config, top_config(config)
        h, dt, db = c['hidden'], t['codeDim'], c['codeDim']
        self.bottom_grid, self.top_grid = level_grids(c)
        self.enc_b = vt.Encoder(c)
        self.enc_t = vt.Encoder(c, in_channels=h, downsamples=1, same=True)
        self.quantize_conv_t = nn.Conv2d(h, dt, 1)
        self.quantize_t = vt.VectorQuantizer(t)
        self.dec_t = vt.Decoder(c, in_channels=dt, out_channels=dt, upsamples=1, out_size=self.bottom_grid)
        self.quantize_conv_b = nn.Conv2d(dt + h, db, 1)
        self.quantize_b = vt.VectorQuantizer(c)
        self.upsample_t = nn.ConvTranspose2d(dt, dt, 4, stride=2, padding=1)
        self.dec = vt.Decoder(c, in_channels=dt + db, out_size=[c['imageHeight'], c['imageWidth']])

    def levels(self):
        return {'top': self.quantize_t, 'bottom': self.quantize_b}

    def encode_top(self, x):
        """x -> (enc_b's features, the top level's z_e)."""
        features = self.enc_b(x)
        return features, self.quantize_conv_t(self.enc_t(features))

    def encode_bottom(self, features, z_q_top):
        return self.quantize_conv_b(torch.cat([self.dec_t(z_q_top), features], 1))

    def decode(self, z_q_top, z_q_bottom):
        up = vt.conv_transpose_to(self.upsample_t, z_q_top, self.bottom_grid)
        return self.dec(torch.cat([up, z_q_bottom], 1))

    def forward(self, x):
        """x [b, C, H, W] in input scale -> {'top': ..., 'bottom': ...} (each the
        quantizer's dict plus z_e), x_hat and vq_loss (both levels' summed)."""
        features, z_e_top = self.encode_top(x)
        top = self.quantize_t(z_e_top)
        top['z_e'] = z_e_top
        z_e_bottom = self.encode_bottom(features, top['z_q'])
        bottom = self.quantize_b(z_e_bottom)
        bottom['z_e'] = z_e_bottom
        return {'top': top, 'bottom': bottom, 'vq_loss': top['vq_loss'] + bottom['vq_loss'],
                'x_hat': self.decode(top['z_q'], bottom['z_q'])}


def losses(model, x, data_variance):
    """The training loss of src/train/hierarchicalStep.ts and its terms."""
    out = model(x)
    out['recon_loss'] = F.mse_loss(out['x_hat'], x) / data_variance
    out['loss'] = out['recon_loss'] + out['vq_loss']
    return out


def ema_updates(model, out):
    """After Adam: each EMA level's update from its own vectors and codes."""
    for level, vq in model.levels().items():
        if vq.ema:
            vq.ema_update(out[level]['flat'].detach(), out[level]['indices'])
