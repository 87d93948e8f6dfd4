#!/usr/bin/python3
"""Goldens for package camera, made by PIL (and torchvision when present).

    /usr/bin/python3 pil_golden.py                    # (re)write the goldens next to this file
    /usr/bin/python3 pil_golden.py live JOB [--torch]  # run the jobs in JOB (JSON) for the Go live test

Every input image is synthesised here from fixed seeds, so the goldens are
reproducible: rerunning with the same Pillow/torch must give identical files.
Needs python3-pil and python3-numpy (Debian); python3-torchvision is optional:
without it the timm transform is emulated with PIL + numpy, op for op.
"""

import gzip
import hashlib
import json
import os
import struct
import sys
import warnings
import zlib

import numpy as np
import PIL
from PIL import Image

# PIL warns that P images with tRNS "should be converted to RGBA"; the
# dec_p8_trns case exists to check exactly what convert("RGB") does with them.
warnings.filterwarnings("ignore", "Palette images with Transparency")

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "pil")

torch = torchvision = None


def import_torch():
    """torchvision if installed (importing it costs seconds, so the live
    test only asks for it with --torch)."""
    global torch, torchvision
    try:
        import torch
        import torchvision
    except ImportError:
        torch = torchvision = None


# ---------------------------------------------------------------- patterns


def pattern(kind, w, h, seed):
    """uint8 HxWx3 test image. Patterns mix smooth ramps (exercise rounding),
    hard 0/255 edges (exercise bicubic overshoot and clipping) and noise."""
    rng = np.random.RandomState(seed)
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    if kind == "grad":
        r = 255 * x / max(w - 1, 1)
        g = 255 * y / max(h - 1, 1)
        b = 127.5 + 127.5 * np.sin((x + 2 * y) / 5.0)
        img = np.stack([r, g, b], -1)
    elif kind == "noise":
        img = rng.randint(0, 256, size=(h, w, 3)).astype(np.float64)
    elif kind == "checker":
        c = ((x // 7 + y // 5) % 2).astype(np.float64)
        img = np.stack([255 * c, 255 * (1 - c), 40 + 170 * c], -1)
    elif kind == "mix":
        # ramps + a hard-edged disc + a noisy band + thin lines
        r = 255 * x / max(w - 1, 1)
        g = 255 - 255 * y / max(h - 1, 1)
        b = np.full_like(x, 30.0)
        disc = (x - 0.6 * w) ** 2 + (y - 0.4 * h) ** 2 < (0.25 * min(w, h)) ** 2
        r[disc], g[disc], b[disc] = 255, 255, 0
        band = (y > 0.7 * h) & (y < 0.75 * h)
        nz = rng.randint(0, 256, size=(h, w))
        b[band] = nz[band]
        lines = (x.astype(int) % 17 == 0)
        r[lines], g[lines], b[lines] = 0, 0, 255
        img = np.stack([r, g, b], -1)
    else:
        raise ValueError(kind)
    return np.clip(np.rint(img), 0, 255).astype(np.uint8)


def save_rgb(path, arr):
    Image.fromarray(arr, "RGB").save(path, optimize=True)


# ---------------------------------------------------------- PNG writer
# PIL cannot write every PNG flavour (16-bit RGB, low-depth grey with tRNS,
# interlacing), so decode-parity inputs are written by hand.


def png_chunk(tag, data):
    c = struct.pack(">I", len(data)) + tag + data
    return c + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)


def pack_row(samples, depth):
    """samples: 1-D int array of one scanline's samples."""
    if depth == 16:
        return b"".join(struct.pack(">H", int(v)) for v in samples)
    if depth == 8:
        return bytes(int(v) for v in samples)
    per = 8 // depth
    out = bytearray()
    for i in range(0, len(samples), per):
        byte = 0
        chunk = samples[i:i + per]
        for j in range(per):
            v = int(chunk[j]) if j < len(chunk) else 0
            byte |= v << (8 - depth * (j + 1))
        out.append(byte)
    return bytes(out)


ADAM7 = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]


def write_png(path, arr, depth, ctype, plte=None, trns=None, interlace=False):
    """arr: HxWxC int array of samples (C by colour type)."""
    h, w = arr.shape[:2]
    raw = bytearray()

    def add_rows(a):
        for row in a:
            raw.append(0)  # filter: none
            raw.extend(pack_row(row.reshape(-1), depth))

    if interlace:
        for x0, y0, dx, dy in ADAM7:
            sub = arr[y0::dy, x0::dx]
            if sub.shape[0] and sub.shape[1]:
                add_rows(sub)
    else:
        add_rows(arr)
    ihdr = struct.pack(">IIBBBBB", w, h, depth, ctype, 0, 0, 1 if interlace else 0)
    data = b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr)
    if plte is not None:
        data += png_chunk(b"PLTE", bytes(np.asarray(plte, np.uint8).reshape(-1)))
    if trns is not None:
        data += png_chunk(b"tRNS", trns)
    data += png_chunk(b"IDAT", zlib.compress(bytes(raw), 9)) + png_chunk(b"IEND", b"")
    with open(path, "wb") as f:
        f.write(data)


def decode_cases():
    rng = np.random.RandomState(7)
    w, h = 13, 7

    def rnd(maxv, c):
        a = rng.randint(0, maxv + 1, size=(h, w, c))
        a[0, 0], a[0, 1] = 0, maxv  # the extremes always occur
        return a

    g16 = rnd(65535, 1)
    g16[1, :6, 0] = [1, 100, 255, 256, 257, 1000]  # around PIL's clip point
    rgba8 = rnd(255, 4)
    rgba8[2, :, 3] = 0  # invisible pixels keep their colour in PIL
    pal = rng.randint(0, 256, size=(256, 3))
    cases = [
        ("g1", rnd(1, 1), 1, 0, {}),
        ("g2", rnd(3, 1), 2, 0, {}),
        ("g4", rnd(15, 1), 4, 0, {}),
        ("g8", rnd(255, 1), 8, 0, {}),
        ("g2_trns", rnd(3, 1), 2, 0, {"trns": struct.pack(">H", 2)}),
        ("g8_trns", rnd(255, 1), 8, 0, {"trns": struct.pack(">H", 9)}),
        ("g16", g16, 16, 0, {}),
        ("g16_trns", g16, 16, 0, {"trns": struct.pack(">H", 257)}),
        ("g16_i", g16, 16, 0, {"interlace": True}),
        ("ga8", rnd(255, 2), 8, 4, {}),
        ("ga16", rnd(65535, 2), 16, 4, {}),
        ("rgb8", rnd(255, 3), 8, 2, {}),
        ("rgb8_trns", rnd(255, 3), 8, 2, {"trns": struct.pack(">HHH", 1, 2, 3)}),
        ("rgb8_i", rnd(255, 3), 8, 2, {"interlace": True}),
        ("rgb16", rnd(65535, 3), 16, 2, {}),
        ("rgb16_trns", rnd(65535, 3), 16, 2, {"trns": struct.pack(">HHH", 1, 2, 3)}),
        ("rgba8", rgba8, 8, 6, {}),
        ("rgba16", rnd(65535, 4), 16, 6, {}),
        ("p1", rnd(1, 1), 1, 3, {"plte": pal[:2]}),
        ("p2", rnd(3, 1), 2, 3, {"plte": pal[:4]}),
        ("p4", rnd(15, 1), 4, 3, {"plte": pal[:16]}),
        ("p4_i", rnd(15, 1), 4, 3, {"plte": pal[:16], "interlace": True}),
        ("p8", rnd(255, 1), 8, 3, {"plte": pal}),
        ("p8_trns", rnd(255, 1), 8, 3, {"plte": pal, "trns": bytes(range(0, 200, 3))}),
    ]
    out = []
    for name, arr, depth, ctype, kw in cases:
        src = os.path.join(OUT, "dec_%s.png" % name)
        write_png(src, arr, depth, ctype, **kw)
        want = os.path.join(OUT, "dec_%s_rgb.png" % name)
        save_rgb(want, np.asarray(Image.open(src).convert("RGB")))
        out.append({"name": name, "src": rel(src), "want": rel(want)})
    return out


def jpeg_cases():
    out = []
    for name, mode, size, kw in [
        ("420", "RGB", (64, 48), {"subsampling": 2}),
        ("420_odd", "RGB", (37, 23), {"subsampling": 2}),  # partial MCUs, odd chroma edge
        ("420_narrow", "RGB", (3, 5), {"subsampling": 2}),  # 2 chroma columns: libjpeg's box path
        ("422", "RGB", (64, 48), {"subsampling": 1}),
        ("422_odd", "RGB", (37, 23), {"subsampling": 1}),
        ("444", "RGB", (64, 48), {"subsampling": 0}),
        ("gray", "L", (64, 48), {}),
        ("cmyk", "CMYK", (64, 48), {}),
    ]:
        arr = pattern("mix", size[0], size[1], 11)
        src = os.path.join(OUT, "jpeg_%s.jpg" % name)
        Image.fromarray(arr, "RGB").convert(mode).save(src, quality=90, **kw)
        want = os.path.join(OUT, "jpeg_%s_rgb.png" % name)
        save_rgb(want, np.asarray(Image.open(src).convert("RGB")))
        out.append({"name": name, "src": rel(src), "want": rel(want)})
    return out


# ------------------------------------------------------------ resize + timm


def pil_resize(src_path, dst_path, w, h):
    im = Image.open(src_path).convert("RGB")
    im.resize((w, h), Image.BICUBIC).save(dst_path, optimize=True)


def timm_transform(img, size, crop_pct, mean, std):
    """timm transforms_imagenet_eval (crop_mode center) on a PIL RGB image,
    returned as float32 NCHW [3,size,size]."""
    import math

    scale = math.floor(size / crop_pct)
    if torch is not None:
        from torchvision import transforms as T
        from torchvision.transforms import InterpolationMode

        tf = T.Compose([
            T.Resize(scale, interpolation=InterpolationMode.BICUBIC),
            T.CenterCrop(size),
            T.ToTensor(),
            T.Normalize(mean=torch.tensor(mean), std=torch.tensor(std)),
        ])
        return tf(img).numpy()
    return emulate_transform(img, size, crop_pct, mean, std)


def emulate_transform(img, size, crop_pct, mean, std):
    """torchvision Resize+CenterCrop+ToTensor+Normalize with PIL and numpy,
    same float32 ops in the same order."""
    import math

    scale = math.floor(size / crop_pct)
    w, h = img.size
    short, long = (w, h) if w <= h else (h, w)
    new_short, new_long = scale, int(scale * long / short)
    nw, nh = (new_short, new_long) if w <= h else (new_long, new_short)
    img = img.resize((nw, nh), Image.BICUBIC)
    a = np.asarray(img)
    if size > nw or size > nh:
        l = (size - nw) // 2 if size > nw else 0
        t = (size - nh) // 2 if size > nh else 0
        r = (size - nw + 1) // 2 if size > nw else 0
        b = (size - nh + 1) // 2 if size > nh else 0
        a = np.pad(a, ((t, b), (l, r), (0, 0)))
        nh, nw = a.shape[:2]
    top = int(round((nh - size) / 2.0))
    left = int(round((nw - size) / 2.0))
    a = a[top:top + size, left:left + size]
    x = a.astype(np.float32) / np.float32(255)
    x = (x - np.asarray(mean, np.float32)) / np.asarray(std, np.float32)
    return np.ascontiguousarray(x.transpose(2, 0, 1))


IMAGENET = ([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])


def rel(p):
    return os.path.relpath(p, HERE)


def generate():
    import_torch()
    os.makedirs(OUT, exist_ok=True)
    for f in os.listdir(OUT):
        os.remove(os.path.join(OUT, f))
    sources = {
        "grad_37x23": ("grad", 37, 23, 1),
        "noise_64x64": ("noise", 64, 64, 2),
        "checker_300x200": ("checker", 300, 200, 3),
        "mix_500x333": ("mix", 500, 333, 4),
        "mix_17x400": ("mix", 17, 400, 5),
        "mix_300x200": ("mix", 300, 200, 6),
        "grad_1x1": ("grad", 1, 1, 7),
        "noise_1x9": ("noise", 1, 9, 8),
    }
    paths = {}
    for name, (kind, w, h, seed) in sources.items():
        paths[name] = os.path.join(OUT, "src_%s.png" % name)
        save_rgb(paths[name], pattern(kind, w, h, seed))

    resizes = [
        ("grad_37x23", 411, 256),  # timm's resize of this image: 6.9x up
        ("grad_37x23", 20, 13),
        ("grad_37x23", 37, 50),  # height only: Pillow skips the horizontal pass
        ("grad_37x23", 90, 23),  # width only, up
        ("noise_64x64", 45, 45),
        ("noise_64x64", 72, 48),  # up in x, down in y
        ("noise_64x64", 64, 64),  # same size: a copy
        ("noise_64x64", 7, 3),  # 9x down, wide antialias support
        ("noise_64x64", 31, 130),  # down in x, up in y
        ("checker_300x200", 131, 87),
        ("checker_300x200", 301, 60),  # x up by one pixel, y down 3.3x
        ("mix_500x333", 384, 256),  # timm's resize of this image
        ("mix_500x333", 123, 333),  # width only, down
        ("mix_17x400", 9, 211),
        ("mix_17x400", 23, 120),
        ("grad_1x1", 5, 3),
        ("noise_1x9", 4, 4),
    ]
    rcases = []
    for name, w, h in resizes:
        dst = os.path.join(OUT, "rs_%s_to_%dx%d.png" % (name, w, h))
        pil_resize(paths[name], dst, w, h)
        if open(dst, "rb").read() == open(paths[name], "rb").read():
            os.remove(dst)  # PIL returned a copy; the source is the golden
            dst = paths[name]
        rcases.append({"src": rel(paths[name]), "want": rel(dst), "w": w, "h": h})

    transforms = [
        # (source, size, crop_pct, (mean, std))
        ("mix_300x200", 224, 0.875, IMAGENET),  # the real cfg: 384x256, crop at (80, 16)
        ("mix_300x200", 64, 0.875, IMAGENET),
        ("grad_37x23", 52, 1.25, IMAGENET),  # resized 65x41: rows padded 5+6, cols cut at round(6.5) = 6
        ("mix_17x400", 32, 0.875, IMAGENET),  # resized 36x847: top round(407.5) = 408
        ("grad_1x1", 8, 0.875, ([0.5, 0.5, 0.5], [0.5, 0.25, 2.0])),
    ]
    tcases = []
    for name, size, pct, (mean, std) in transforms:
        img = Image.open(paths[name]).convert("RGB")
        x = timm_transform(img, size, pct, mean, std).astype("<f4")
        emu = emulate_transform(img, size, pct, mean, std)
        emu_diff = float(np.abs(emu - x).max())
        c = {"src": rel(paths[name]), "size": size, "crop_pct": pct, "mean": mean, "std": std,
             "sha256_nchw_f32le": hashlib.sha256(x.tobytes()).hexdigest(),
             "emulation_max_abs_diff": emu_diff}
        f = os.path.join(OUT, "tf_%s_s%d_c%g.f32.gz" % (name, size, pct))
        with gzip.GzipFile(f, "wb", compresslevel=9, mtime=0) as g:
            g.write(x.tobytes())
        c["want_f32_gz"] = rel(f)
        tcases.append(c)

    manifest = {
        "generator": "pil_golden.py",
        "pillow": PIL.__version__,
        "numpy": np.__version__,
        "torch": torch.__version__ if torch is not None else None,
        "torchvision": torchvision.__version__ if torch is not None else None,
        "transform_by": "torchvision" if torch is not None else "PIL+numpy emulation",
        "resize": rcases,
        "transform": tcases,
        "decode_png": decode_cases(),
        "decode_jpeg": jpeg_cases(),
    }
    with open(os.path.join(HERE, "pil_golden.json"), "w") as f:
        json.dump(manifest, f, indent=1)
        f.write("\n")
    total = sum(os.path.getsize(os.path.join(OUT, n)) for n in os.listdir(OUT))
    print("wrote %d files, %d bytes; transform by %s" % (len(os.listdir(OUT)), total, manifest["transform_by"]))


def live(job_path, use_torch):
    """Job: {"resize": [{"src","dst","w","h"}], "transform": [{"src","dst","size","crop_pct","mean","std"}]}.
    Transform outputs are raw float32 NCHW."""
    if use_torch:
        import_torch()
    with open(job_path) as f:
        job = json.load(f)
    for r in job.get("resize", []):
        pil_resize(r["src"], r["dst"], r["w"], r["h"])
    for t in job.get("transform", []):
        img = Image.open(t["src"]).convert("RGB")
        timm_transform(img, t["size"], t["crop_pct"], t["mean"], t["std"]).astype("<f4").tofile(t["dst"])
    print(json.dumps({"pillow": PIL.__version__, "torchvision": torchvision.__version__ if torch is not None else None}))


if __name__ == "__main__":
    if len(sys.argv) in (3, 4) and sys.argv[1] == "live" and sys.argv[3:] in ([], ["--torch"]):
        live(sys.argv[2], sys.argv[3:] == ["--torch"])
    elif len(sys.argv) == 1:
        generate()
    else:
        sys.exit(__doc__)
