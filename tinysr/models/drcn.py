"""DRCN (Kim, Lee, Lee; CVPR 2016): a deeply-recursive network. All convolutions are 3x3
with zero padding 1 and ``width`` channels; the input is the bicubic-upscaled Y.

    embedding       H_-1 = ReLU(W_-1 * x), H_0 = ReLU(W_0 * H_-1)
    inference       H_d = ReLU(W * H_{d-1} + b), d = 1..D: ONE conv applied D times
    reconstruction  r_d = W_{D+2} * ReLU(W_{D+1} * H_d), shared by every recursion; the
                    last layer is linear (a ReLU'd residual could not go negative)
    output          y_d = x + r_d for each recursion, and the ensemble
                    y = x + sum_d w_d r_d with learned w_d, normalised to sum to 1

The recursive weights start as the identity (as the paper cites Le et al.), the rest He.
``model(x)`` is the ensemble; ``model.outputs(x)`` also gives the D intermediate
predictions, which recursive supervision trains (tinysr.training.drcn).
"""
import numpy as np

from tinysr import functional as F
from tinysr.nn import Conv2d, Module, Parameter, init


class DRCN(Module):
    name = "drcn"

    def __init__(self, width=256, recursions=16, seed=0):
        if width < 1 or recursions < 1:
            raise ValueError(f"DRCN needs width >= 1 and recursions >= 1, got {width}, {recursions}")
        self.config = dict(width=width, recursions=recursions)
        rng = np.random.default_rng(seed)
        self.embed1 = Conv2d(1, width, 3, padding=1, rng=rng)
        self.embed2 = Conv2d(width, width, 3, padding=1, rng=rng)
        self.recursive = Conv2d(width, width, 3, padding=1, rng=rng)
        self.recon1 = Conv2d(width, width, 3, padding=1, rng=rng)
        self.recon2 = Conv2d(width, 1, 3, padding=1, rng=rng)
        for conv in (self.embed1, self.embed2, self.recon1, self.recon2):
            init.kaiming_normal_(conv.weight, rng=rng)
        init.identity_(self.recursive.weight)
        self.ensemble = Parameter(np.full(recursions, 1.0 / recursions, dtype=np.float32))

    @property
    def receptive_radius(self):
        """2 embedding + D recursive + 2 reconstruction 3x3 convolutions: one pixel each."""
        return self.config["recursions"] + 4

    def ensemble_weights(self):
        """w_d / sum w: the weights of the intermediate predictions in the output."""
        return self.ensemble / F.sum(self.ensemble)

    def outputs(self, x):
        """(ensemble output, [y_1 .. y_D]): every recursion's prediction, x + r_d."""
        h = F.bias_act(F.conv2d(x, self.embed1.weight, None, 1, 1), self.embed1.bias, "relu")
        h = F.bias_act(F.conv2d(h, self.embed2.weight, None, 1, 1), self.embed2.bias, "relu")
        weights = self.ensemble_weights()
        residuals, mixed = [], None
        for d in range(self.config["recursions"]):
            h = F.bias_act(F.conv2d(h, self.recursive.weight, None, 1, 1), self.recursive.bias, "relu")
            g = F.bias_act(F.conv2d(h, self.recon1.weight, None, 1, 1), self.recon1.bias, "relu")
            r = F.conv2d(g, self.recon2.weight, self.recon2.bias, 1, 1)
            residuals.append(r)
            term = r * weights[d]
            mixed = term if mixed is None else mixed + term
        return x + mixed, [x + r for r in residuals]

    def forward(self, x):
        return self.outputs(x)[0]

    def infer(self, x):
        """The test-time output: the input clamped to Y's studio range (as DRCN.m), then forward."""
        return self.forward(F.clamp(x, 16.0 / 255.0, 235.0 / 255.0))
