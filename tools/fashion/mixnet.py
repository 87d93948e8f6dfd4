"""MixNet in PyTorch with timm's module names, so that state_dict() keys and
shapes are exactly timm's (and what mixedge loads). A developer tool for
training fixtures; the block strings and rules mirror model/arch.go, which
is tested against timm's logits. Checked by `check_reference()` against the
reference weights and logits in ../shared/reference.
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

MIXNET_S = [
    ["ds_r1_k3_s1_e1_c16"],
    ["ir_r1_k3_a1.1_p1.1_s2_e6_c24", "ir_r1_k3_a1.1_p1.1_s1_e3_c24"],
    ["ir_r1_k3.5.7_s2_e6_c40_se0.5_nsw", "ir_r3_k3.5_a1.1_p1.1_s1_e6_c40_se0.5_nsw"],
    ["ir_r1_k3.5.7_p1.1_s2_e6_c80_se0.25_nsw", "ir_r2_k3.5_p1.1_s1_e6_c80_se0.25_nsw"],
    ["ir_r1_k3.5.7_a1.1_p1.1_s1_e6_c120_se0.5_nsw", "ir_r2_k3.5.7.9_a1.1_p1.1_s1_e3_c120_se0.5_nsw"],
    ["ir_r1_k3.5.7.9.11_s2_e6_c200_se0.5_nsw", "ir_r2_k3.5.7.9_p1.1_s1_e6_c200_se0.5_nsw"],
]

ARCHS = {
    "mixnet_s": dict(stages=MIXNET_S, stem=16, eps=1e-5, same=False),
    "tf_mixnet_s": dict(stages=MIXNET_S, stem=16, eps=1e-3, same=True),
}


def make_divisible(v, d=8):
    n = int(v + d / 2) // d * d
    n = max(n, d)
    if n < 0.9 * v:
        n += d
    return n


def equal_split(c, g):
    s = [c // g] * g
    s[0] += c - sum(s)
    return s


def decode(s):
    t = s.split("_")
    b = dict(type=t[0], r=1, k=[3], kmix=False, a=[1], amix=False, p=[1], pmix=False,
             s=1, e=1.0, c=0, se=0.0, act="relu", noskip=False)
    for tok in t[1:]:
        if tok == "noskip":
            b["noskip"] = True
        elif tok == "nsw":
            b["act"] = "silu"
        elif tok == "nre":
            b["act"] = "relu"
        else:
            i = next(j for j, ch in enumerate(tok) if ch.isdigit())
            key, val = tok[:i], tok[i:]
            if key in ("k", "a", "p"):
                if val.isdigit():
                    b[key], b[key + "mix"] = [int(val)], False
                else:
                    b[key], b[key + "mix"] = [int(x) for x in val.split(".") if x], True
            elif key in ("r", "s", "c"):
                b[key] = int(val)
            else:
                b[key] = float(val)
    return b


class SameConv(nn.Conv2d):
    """TF 'SAME' padding: total pad max((ceil(i/s)-1)*s + k - i, 0), the extra pixel at the end."""

    def forward(self, x):
        ih, iw = x.shape[-2:]
        k, s = self.kernel_size[0], self.stride[0]
        ph = max((math.ceil(ih / s) - 1) * s + k - ih, 0)
        pw = max((math.ceil(iw / s) - 1) * s + k - iw, 0)
        if ph or pw:
            x = F.pad(x, [pw // 2, pw - pw // 2, ph // 2, ph - ph // 2])
        return F.conv2d(x, self.weight, self.bias, self.stride, 0, self.dilation, self.groups)


def conv(cin, cout, k, stride=1, depthwise=False, same=False, bias=False):
    groups = cout if depthwise else 1
    if same:
        return SameConv(cin, cout, k, stride, padding=0, groups=groups, bias=bias)
    pad = ((stride - 1) + (k - 1)) // 2
    return nn.Conv2d(cin, cout, k, stride, padding=pad, groups=groups, bias=bias)


class Mixed(nn.ModuleDict):
    """timm's MixedConv2d: keys 0, 1, ... one conv per channel group."""

    def __init__(self, cin, cout, ks, stride, depthwise, same):
        si, so = equal_split(cin, len(ks)), equal_split(cout, len(ks))
        super().__init__({str(i): conv(si[i], so[i], k, stride, depthwise, same) for i, k in enumerate(ks)})
        self.si = si

    def forward(self, x):
        xs = torch.split(x, self.si, 1)
        # indexed, not iterated, so torch.fx can trace it (PyTorch FX int8 comparison)
        return torch.cat([self[str(i)](xs[i]) for i in range(len(self.si))], 1)


def mk(cin, cout, ks, mixed, stride=1, depthwise=False, same=False):
    if mixed:
        return Mixed(cin, cout, ks, stride, depthwise, same)
    return conv(cin, cout, ks[0], stride, depthwise, same)


def act_fn(name):
    return nn.SiLU() if name == "silu" else nn.ReLU()


class SE(nn.Module):
    def __init__(self, c, rd, act):
        super().__init__()
        self.conv_reduce = nn.Conv2d(c, rd, 1, bias=True)
        self.act = act_fn(act)
        self.conv_expand = nn.Conv2d(rd, c, 1, bias=True)

    def forward(self, x):
        s = x.mean((2, 3), keepdim=True)
        s = self.conv_expand(self.act(self.conv_reduce(s)))
        return x * torch.sigmoid(s)


class Block(nn.Module):
    def __init__(self, b, cin, cout, eps, same):
        super().__init__()
        self.ds = b["type"] == "ds"
        self.skip = b["s"] == 1 and cin == cout and not b["noskip"]
        act = b["act"]
        mid = cin if self.ds else make_divisible(cin * b["e"])
        if self.ds:
            self.conv_dw = mk(mid, mid, b["k"], b["kmix"], b["s"], True, same)
            self.bn1 = nn.BatchNorm2d(mid, eps=eps)
            self.conv_pw = mk(mid, cout, b["p"], b["pmix"])
            self.bn2 = nn.BatchNorm2d(cout, eps=eps)
        else:
            self.conv_pw = mk(cin, mid, b["a"], b["amix"])
            self.bn1 = nn.BatchNorm2d(mid, eps=eps)
            self.conv_dw = mk(mid, mid, b["k"], b["kmix"], b["s"], True, same)
            self.bn2 = nn.BatchNorm2d(mid, eps=eps)
            self.conv_pwl = mk(mid, cout, b["p"], b["pmix"])
            self.bn3 = nn.BatchNorm2d(cout, eps=eps)
        self.act = act_fn(act)
        self.se = None
        if b["se"] > 0:
            ratio = b["se"] / (1 if self.ds else b["e"])
            self.se = SE(mid, max(1, round(mid * ratio)), act)

    def forward(self, x):
        sc = x
        if self.ds:
            x = self.act(self.bn1(self.conv_dw(x)))
            if self.se is not None:
                x = self.se(x)
            x = self.bn2(self.conv_pw(x))
        else:
            x = self.act(self.bn1(self.conv_pw(x)))
            x = self.act(self.bn2(self.conv_dw(x)))
            if self.se is not None:
                x = self.se(x)
            x = self.bn3(self.conv_pwl(x))
        if self.skip:
            x = x + sc
        return x


class MixNet(nn.Module):
    def __init__(self, arch="mixnet_s", classes=1000, drop=0.0):
        super().__init__()
        a = ARCHS[arch]
        eps, same = a["eps"], a["same"]
        stem = make_divisible(a["stem"])
        self.conv_stem = conv(3, stem, 3, 2, same=same)
        self.bn1 = nn.BatchNorm2d(stem, eps=eps)
        blocks, cin = [], stem
        for stage in a["stages"]:
            seq = []
            for s in stage:
                b = decode(s)
                for r in range(b["r"]):
                    bb = dict(b)
                    if seq:
                        bb["s"] = 1
                    cout = make_divisible(b["c"])
                    seq.append(Block(bb, cin, cout, eps, same))
                    cin = cout
            blocks.append(nn.Sequential(*seq))
        self.blocks = nn.Sequential(*blocks)
        self.conv_head = nn.Conv2d(cin, 1536, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(1536, eps=eps)
        self.drop = nn.Dropout(drop)
        self.classifier = nn.Linear(1536, classes)

    def forward(self, x):
        x = F.relu(self.bn1(self.conv_stem(x)))
        x = self.blocks(x)
        x = F.relu(self.bn2(self.conv_head(x)))
        x = x.mean((2, 3))
        return self.classifier(self.drop(x))


def check_reference(ref="../shared/reference"):
    """Load timm's reference weights and compare logits with timm's."""
    import json
    import os

    import numpy as np
    from safetensors_io import load

    m = MixNet("mixnet_s", 1000).eval()
    sd = load(os.path.join(ref, "mixnet_s.safetensors"))
    missing, unexpected = m.load_state_dict({k: torch.from_numpy(v) for k, v in sd.items()}, strict=True)
    man = json.load(open(os.path.join(ref, "manifest.json")))
    worst = 0.0
    for inp in man["inputs"]:
        x = np.fromfile(os.path.join(ref, inp["tensor"]), dtype="<f4").reshape(1, 3, 224, 224)
        want = np.fromfile(os.path.join(ref, "logits", "mixnet_s_" + inp["name"] + ".f32"), dtype="<f4")
        with torch.no_grad():
            got = m(torch.from_numpy(x)).numpy().ravel()
        worst = max(worst, float(np.abs(got - want).max()))
    return worst
