#!/usr/bin/python3
"""Train a MixNet on Fashion-MNIST (Debian's dataset-fashion-mnist) and write
it in timm's safetensors layout, for mixedge's accuracy fixtures.

Only the 60k training split is used here: every 12th image is held out as the validation split (for choosing defaults),
the rest are trained on. The 10k test split is never read by this script.

Pictures are 28x28 grey, resized to --size with PIL bicubic (what mixedge's
preprocessing does to a 28x28 PNG with --input-size S --crop-pct 1),
replicated to RGB and normalised with ImageNet's mean and std (mixedge's
defaults), so `mixedge convert --input-size S --crop-pct 1 --classes 10`
needs no other flag.

  /usr/bin/python3 tools/fashion/train.py --arch mixnet_s --out fmnist_s.safetensors
"""
import argparse
import gzip
import os
import struct
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from PIL import Image

sys.path.insert(0, os.path.dirname(__file__))
import mixnet  # noqa: E402
import safetensors_io  # noqa: E402

DATA = "/usr/share/datasets/fashion-mnist"
LABELS = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
          "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
MEAN = np.array([0.485, 0.456, 0.406], np.float32)
STD = np.array([0.229, 0.224, 0.225], np.float32)


def read_idx(path):
    with gzip.open(path, "rb") as f:
        magic = struct.unpack(">I", f.read(4))[0]
        dims = struct.unpack(">" + "I" * (magic & 0xFF), f.read(4 * (magic & 0xFF)))
        return np.frombuffer(f.read(), np.uint8).reshape(dims)


def split():
    """The training part and the validation part of the 60k split: every 12th
    image (index % 12 == 11, 5000 images) is held out for validation. A rule
    rather than a seeded shuffle, so mixedge's Go tests pick the same images."""
    idx = np.arange(60000)
    return idx[idx % 12 != 11], idx[idx % 12 == 11]


def resize(imgs, size):
    out = np.empty((len(imgs), size, size), np.uint8)
    for i, im in enumerate(imgs):
        out[i] = np.asarray(Image.fromarray(im, "L").resize((size, size), Image.BICUBIC))
    return out


def to_input(u8):
    """uint8 [N,S,S] grey -> float [N,3,S,S] normalised."""
    x = torch.from_numpy(u8).float().div_(255).unsqueeze(1).expand(-1, 3, -1, -1)
    m = torch.from_numpy(MEAN).view(1, 3, 1, 1)
    s = torch.from_numpy(STD).view(1, 3, 1, 1)
    return (x - m) / s


def augment(u8, rng, pad):
    """Random horizontal flip and a shift of up to pad pixels (edge fill)."""
    n, s, _ = u8.shape
    flip = rng.random(n) < 0.5
    u8 = np.where(flip[:, None, None], u8[:, :, ::-1], u8)
    p = np.pad(u8, ((0, 0), (pad, pad), (pad, pad)), mode="edge")
    dy = rng.integers(0, 2 * pad + 1, n)
    dx = rng.integers(0, 2 * pad + 1, n)
    out = np.empty_like(u8)
    for i in range(n):
        out[i] = p[i, dy[i]:dy[i] + s, dx[i]:dx[i] + s]
    return out


def evaluate(model, u8, labels, bs=500):
    model.eval()
    correct = 0
    with torch.no_grad():
        for i in range(0, len(u8), bs):
            x = to_input(u8[i:i + bs]).contiguous(memory_format=torch.channels_last)
            correct += (model(x).argmax(1).numpy() == labels[i:i + bs]).sum()
    return correct / len(u8)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--arch", default="mixnet_s", choices=sorted(mixnet.ARCHS))
    ap.add_argument("--size", type=int, default=32)
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--lr", type=float, default=4e-3)
    ap.add_argument("--limit", type=int, default=0, help="train on this many images only (0: all)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()

    torch.manual_seed(a.seed)
    torch.set_num_threads(a.threads)
    rng = np.random.default_rng(a.seed)
    imgs = read_idx(os.path.join(DATA, "train-images-idx3-ubyte.gz"))
    labels = read_idx(os.path.join(DATA, "train-labels-idx1-ubyte.gz")).astype(np.int64)
    tr, va = split()
    if a.limit:
        tr = tr[:a.limit]
    t0 = time.time()
    xtr, ytr = resize(imgs[tr], a.size), labels[tr]
    xva, yva = resize(imgs[va], a.size), labels[va]
    print(f"data: {len(tr)} train, {len(va)} validation, resized in {time.time() - t0:.1f}s", flush=True)

    # channels-last runs the depthwise convs 2-3x faster on CPU
    model = mixnet.MixNet(a.arch, 10, drop=0.2).to(memory_format=torch.channels_last)
    opt = torch.optim.AdamW(model.parameters(), lr=a.lr, weight_decay=0.05)
    steps = a.epochs * (len(tr) // a.batch)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=a.lr, total_steps=steps, pct_start=0.15)
    crit = nn.CrossEntropyLoss(label_smoothing=0.1)
    step = 0
    for ep in range(a.epochs):
        model.train()
        perm = rng.permutation(len(tr))
        t0, tot = time.time(), 0.0
        for b in range(len(tr) // a.batch):
            idx = perm[b * a.batch:(b + 1) * a.batch]
            x = to_input(augment(xtr[idx], rng, max(1, a.size // 16))).contiguous(memory_format=torch.channels_last)
            loss = crit(model(x), torch.from_numpy(ytr[idx]))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            step += 1
            tot += loss.item()
            if b % 50 == 0:
                print(f"  epoch {ep} batch {b} loss {loss.item():.3f} {time.time() - t0:.0f}s", flush=True)
        acc = evaluate(model, xva, yva)
        print(f"epoch {ep}: loss {tot / (len(tr) // a.batch):.4f}, validation top-1 {acc * 100:.2f}%, "
              f"{time.time() - t0:.0f}s", flush=True)

    sd = {k: v.detach().contiguous().numpy() for k, v in model.state_dict().items()}
    meta = {"format": "pt", "arch": a.arch, "dataset": "fashion-mnist", "input_size": str(a.size),
            "epochs": str(a.epochs), "seed": str(a.seed), "validation_top1": f"{acc:.4f}"}
    safetensors_io.save(a.out, sd, "F16", meta)
    with open(os.path.splitext(a.out)[0] + ".labels.txt", "w") as f:
        f.write("\n".join(LABELS) + "\n")
    print(f"wrote {a.out}")


if __name__ == "__main__":
    main()
