"""Minimal safetensors reader and writer (numpy), laid out as
safetensors.torch.save_file does: u64 LE header length, compact JSON header
padded with spaces to 8 bytes, raw little-endian data in header order."""
import json
import struct

import numpy as np

_DT = {"F32": "<f4", "F16": "<f2", "BF16": None, "I64": "<i8"}


def load(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        hdr = json.loads(f.read(n))
        data = f.read()
    out = {}
    for k, v in hdr.items():
        if k == "__metadata__":
            continue
        a, b = v["data_offsets"]
        if v["dtype"] == "BF16":
            u = np.frombuffer(data[a:b], "<u2").astype(np.uint32) << 16
            arr = u.view(np.float32)
        else:
            arr = np.frombuffer(data[a:b], _DT[v["dtype"]])
        out[k] = arr.reshape(v["shape"]).copy()
    return out


def save(path, tensors, dtype="F16", metadata=None):
    """tensors: name -> numpy array. Floats are written as dtype, ints as I64."""
    items = []
    for k in sorted(tensors):
        a = np.asarray(tensors[k])
        if a.dtype.kind == "f":
            dt = dtype
            a = a.astype("<f2" if dtype == "F16" else "<f4")
        else:
            dt = "I64"
            a = a.astype("<i8")
        items.append((k, dt, a))
    # descending dtype name then key, as safetensors.torch orders them
    items.sort(key=lambda t: (-_rank(t[1]), t[0]))
    hdr, off = {"__metadata__": metadata or {"format": "pt"}}, 0
    for k, dt, a in items:
        hdr[k] = {"dtype": dt, "shape": list(a.shape), "data_offsets": [off, off + a.nbytes]}
        off += a.nbytes
    h = json.dumps(hdr, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for _, _, a in items:
            f.write(a.tobytes())


def _rank(dt):
    return {"I64": 3, "F32": 2, "F16": 1, "BF16": 0}[dt]
