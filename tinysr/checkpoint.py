"""Checkpoints: one ``.npz`` file, never pickled, written atomically.

``save(state, path)`` takes a nested dict. Array leaves are stored as npz members under
their "/"-joined key path; every other leaf (numbers, strings, lists, None) goes into one
JSON header stored as the member ``__tinysr__``, with the format name and version. So a
checkpoint can hold a model's state_dict, the optimiser's state, the step, the RNG state
and the model's config, and ``load`` rebuilds the same nested dict.

The file is written through ``tinysr.atomic``: a crash mid-write leaves the previous
checkpoint intact. ``load`` checks the file's signature first (``tinysr.validate``), so a
PNG renamed to ``.npz`` is named as what it is.
"""
import json
import os
import zipfile
import zlib

import numpy as np

from .atomic import atomic_write
from .errors import InputFileError
from .validate import checkpoint_file

FORMAT = "tinysr-checkpoint"
VERSION = 1
HEADER = "__tinysr__"


class CheckpointError(InputFileError):
    """A file that is not a readable tinysr checkpoint; the message names the file."""


def _flatten(state, prefix, arrays, meta):
    for key, value in state.items():
        if not isinstance(key, str) or "/" in key or key == HEADER:
            raise ValueError(f"checkpoint keys must be strings without '/', got {key!r}")
        path = prefix + key
        if isinstance(value, dict):
            meta[key] = {}
            _flatten(value, path + "/", arrays, meta[key])
        elif isinstance(value, np.ndarray) or hasattr(value, "__cuda_array_interface__"):
            array = np.asarray(value.get() if hasattr(value, "get") else value)
            if array.dtype == object:
                raise TypeError(f"{path}: object arrays cannot be saved without pickling")
            arrays[path] = array
            meta[key] = {"__array__": path}
        else:
            meta[key] = value


def save(state, path):
    """Write ``state`` (a nested dict of arrays and JSON-able values) to ``path`` atomically."""
    path = os.fspath(path)
    arrays, meta = {}, {}
    _flatten(state, "", arrays, meta)
    header = json.dumps({"format": FORMAT, "version": VERSION, "state": meta})
    with atomic_write(path) as f:
        np.savez(f, **{HEADER: np.array(header)}, **arrays)
    return path


def _rebuild(meta, arrays, path):
    out = {}
    for key, value in meta.items():
        if isinstance(value, dict) and set(value) == {"__array__"}:
            name = value["__array__"]
            if name not in arrays:
                raise CheckpointError(f"{path}: array {name!r} named in the header is missing")
            out[key] = arrays[name]
        elif isinstance(value, dict):
            out[key] = _rebuild(value, arrays, path)
        else:
            out[key] = value
    return out


def load(path):
    """Read a checkpoint written by ``save``; refuse anything else with a clear error."""
    path = os.fspath(path)
    try:
        checkpoint_file(path)    # exists, and is a zip archive (not a PNG, .npy, .mat, pickle)
    except InputFileError as err:
        raise CheckpointError(str(err)) from None
    try:
        with np.load(path, allow_pickle=False) as npz:
            names = set(npz.files)
            if HEADER not in names:
                raise CheckpointError(f"{path}: not a tinysr checkpoint (no {HEADER} header; "
                                      f"members: {sorted(names)[:5]})")
            header = json.loads(str(npz[HEADER]))
            if not isinstance(header, dict) or header.get("format") != FORMAT:
                found = header.get("format") if isinstance(header, dict) else type(header).__name__
                raise CheckpointError(f"{path}: header format {found!r} is not {FORMAT!r}")
            if not isinstance(header.get("state"), dict):
                raise CheckpointError(f"{path}: corrupt header (no state)")
            if header.get("version", 0) > VERSION:
                raise CheckpointError(f"{path}: checkpoint version {header['version']} is newer than "
                                      f"this tinysr reads ({VERSION})")
            arrays = {name: npz[name] for name in names - {HEADER}}
    except CheckpointError:
        raise
    except (zipfile.BadZipFile, EOFError, OSError, NotImplementedError, zlib.error) as err:
        raise CheckpointError(f"{path}: truncated or corrupt checkpoint ({err})") from err
    except (json.JSONDecodeError, TypeError, KeyError, AttributeError) as err:
        raise CheckpointError(f"{path}: corrupt header ({err})") from err
    except ValueError as err:
        if "pickle" in str(err).lower():
            raise CheckpointError(f"{path}: contains pickled Python objects; tinysr never unpickles "
                                  f"(it could run arbitrary code)") from err
        raise CheckpointError(f"{path}: unreadable checkpoint ({err})") from err
    return _rebuild(header["state"], arrays, path)
