"""SRCNN (Dong, Loy, He, Tang; ECCV 2014 / TPAMI 2016): three convolutions on the
bicubic-upscaled Y channel.

    patch extraction   f1 x f1, 1 -> n1, ReLU
    non-linear mapping f2 x f2, n1 -> n2, ReLU   (+ ``extra_layers`` more n2 -> n2, ReLU)
    reconstruction     f3 x f3, n2 -> 1, linear

Training uses valid convolutions (a 33x33 input gives a 21x21 output for 9-1-5, compared
with the centre of the label). Inference returns a full-size image: every layer pads
its input by (f - 1) / 2 copies of the edge pixels first, as the authors' MATLAB code
(``imfilter(..., 'same', 'replicate')``) does; zero padding would spoil a 6-8 pixel band
that the s-pixel border shave does not remove.
"""
import numpy as np

from tinysr import functional as F
from tinysr.nn import Conv2d, Module, init


class SRCNN(Module):
    name = "srcnn"

    def __init__(self, f1=9, f2=1, f3=5, n1=64, n2=32, extra_layers=0, init_std=1e-3, seed=0, init_scheme="paper"):
        for f in (f1, f2, f3):
            if f % 2 == 0 or f < 1:
                raise ValueError(f"SRCNN filter sizes must be odd, got {f1}-{f2}-{f3}")
        self.config = dict(f1=f1, f2=f2, f3=f3, n1=n1, n2=n2, extra_layers=extra_layers)
        rng = np.random.default_rng(seed)
        self.conv1 = Conv2d(1, n1, f1, rng=rng)
        self.conv2 = Conv2d(n1, n2, f2, rng=rng)
        self.mapping = [Conv2d(n2, n2, f2, rng=rng) for _ in range(extra_layers)]
        self.conv3 = Conv2d(n2, 1, f3, rng=rng)
        for conv in self.convs():
            if init_scheme == "paper":       # N(0, 0.001), biases 0
                init.normal_(conv.weight, std=init_std, rng=rng)
            elif init_scheme == "he":        # He/MSRA: Adam leaves the flat start sooner
                init.kaiming_normal_(conv.weight, rng=rng)
            else:
                raise ValueError(f"init_scheme must be 'paper' or 'he', got {init_scheme!r}")

    def convs(self):
        return [self.conv1, self.conv2, *self.mapping, self.conv3]

    @property
    def shrink(self):
        """Pixels lost on each side by the valid (training) forward pass."""
        return sum((c.weight.shape[-1] - 1) // 2 for c in self.convs())

    receptive_radius = shrink   # how far an output pixel sees; the overlap tiling needs

    def forward(self, x):
        """Valid convolutions, as in training: the output is ``2 * shrink`` smaller."""
        return self._layers(x, same=False)

    def infer(self, x):
        """A full-size output with per-layer edge-replicate padding, as the authors test."""
        return self._layers(x, same=True)

    def _layers(self, x, same):
        *hidden, last = self.convs()
        for conv in hidden:
            pad = (conv.weight.shape[-1] - 1) // 2 if same else 0
            x = F.conv2d(x, conv.weight, None, 1, pad, "replicate")
            x = F.bias_act(x, conv.bias, "relu")       # bias + ReLU fused in one pass
        pad = (last.weight.shape[-1] - 1) // 2 if same else 0
        return F.conv2d(x, last.weight, last.bias, 1, pad, "replicate")

    def param_groups(self, lr, last_layer_factor=0.1, bias_factor=0.1):
        """The paper's per-layer rates: layer 3 at lr/10, every bias at a tenth of its layer's."""
        groups = []
        for conv in self.convs():
            layer_lr = lr * (last_layer_factor if conv is self.conv3 else 1.0)
            groups.append({"params": [conv.weight], "lr": layer_lr})
            groups.append({"params": [conv.bias], "lr": layer_lr * bias_factor})
        return groups
