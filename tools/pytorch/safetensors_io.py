"""A tiny safetensors reader and writer for the PyTorch reference (the
`safetensors` pip package is not installed here): an 8-byte little-endian
header length N, N bytes of JSON ({"name": {"dtype", "shape", "data_offsets"}}
plus an optional "__metadata__" of strings), then each tensor's raw
little-endian bytes, row-major, at its data_offsets. The TypeScript side is
src/io/safetensors.ts; this writer orders tensors as it does (larger item
sizes first, then by name) and pads the header with spaces to a multiple of 8.
"""
import json
import struct

import numpy as np

_DTYPES = {
    'F64': np.dtype('<f8'),
    'F32': np.dtype('<f4'),
    'I64': np.dtype('<i8'),
    'I32': np.dtype('<i4'),
    'U8': np.dtype('u1'),
}
_NAMES = {v: k for k, v in _DTYPES.items()}


def save(path, tensors, metadata=None):
    """Writes {name: numpy array or torch tensor} to `path`."""
    arrays = {}
    for name, value in tensors.items():
        if hasattr(value, 'detach'):
            value = value.detach().cpu().numpy()
        # Not ascontiguousarray: it turns a scalar's shape [] into [1].
        array = np.array(value, order='C', copy=True)
        dtype = array.dtype.newbyteorder('<') if array.dtype.itemsize > 1 else array.dtype
        if dtype not in _NAMES:
            raise ValueError(f'{name}: unsupported dtype {array.dtype}')
        arrays[name] = array.astype(dtype, copy=False)
    order = sorted(arrays, key=lambda n: (-arrays[n].dtype.itemsize, n))
    header = {}
    if metadata:
        header['__metadata__'] = {str(k): str(v) for k, v in metadata.items()}
    offset = 0
    for name in order:
        size = arrays[name].nbytes
        header[name] = {
            'dtype': _NAMES[arrays[name].dtype],
            'shape': list(arrays[name].shape),
            'data_offsets': [offset, offset + size],
        }
        offset += size
    text = json.dumps(header, separators=(',', ':')).encode('utf-8')
    text += b' ' * (-len(text) % 8)
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(text)))
        f.write(text)
        for name in order:
            f.write(arrays[name].tobytes())


def load(path):
    """Reads `path` into ({name: numpy array}, metadata dict)."""
    with open(path, 'rb') as f:
        raw = f.read()
    (n,) = struct.unpack('<Q', raw[:8])
    header = json.loads(raw[8:8 + n].decode('utf-8'))
    metadata = header.pop('__metadata__', {})
    base = 8 + n
    out = {}
    for name, info in header.items():
        begin, end = info['data_offsets']
        dtype = _DTYPES[info['dtype']]
        out[name] = np.frombuffer(raw[base + begin:base + end], dtype=dtype).reshape(info['shape']).copy()
    return out, metadata
