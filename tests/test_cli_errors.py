"""Bad input at the command line: a table of cases, and a fuzz corpus.

Every case must give exit status 1 or 2, exactly one line on stderr that names the file
or flag and the problem, no traceback, and leave an existing output file byte-identical.
The commands run in-process through the same ``tinysr.command.run`` layer as the console
script (a few also run as real processes at the end).
"""
import errno
import importlib.util
import os
import signal
import struct
import subprocess
import sys
import time
import zlib
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from tinysr import checkpoint
from tinysr.backend import cuda_available
from tinysr.cli import main as tinysr_main
from tinysr.command import Parser, run
from tinysr.models import SRCNN
from tinysr.models.registry import model_state

ROOT = Path(__file__).parents[1]
SENTINEL = b"previous output, must survive\n"


def _png_chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def huge_png_header(width=100000, height=100000):
    """A valid PNG signature and IHDR claiming a huge RGB image, and no pixel data."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IEND", b"")


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """The corpus: good and bad inputs, models and checkpoints, made once."""
    d = tmp_path_factory.mktemp("corpus")
    rng = np.random.default_rng(0)
    x = np.linspace(0, 1, 40)
    img = ((np.outer(np.sin(5 * x), np.cos(3 * x))[..., None] * [1, 0.6, -0.5] + 1) * 110).astype(np.uint8)
    Image.fromarray(img).save(d / "good.png")
    noisy = rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)     # incompressible: truncation shows
    Image.fromarray(noisy).save(d / "noisy.png")
    f = {"good": d / "good.png"}
    (d / "text.png").write_text("this is not an image\n")
    (d / "zero.png").write_bytes(b"")
    (d / "truncated.png").write_bytes((d / "noisy.png").read_bytes()[:2000])
    (d / "huge.png").write_bytes(huge_png_header())
    model = SRCNN(f1=3, f2=1, f3=3, n1=4, n2=2, seed=0)
    checkpoint.save(model_state(model, 3), d / "srcnn_x3.npz")
    good_ckpt = (d / "srcnn_x3.npz").read_bytes()
    (d / "truncated.npz").write_bytes(good_ckpt[: len(good_ckpt) // 2])
    np.savez(d / "plain.npz", weights=np.ones(3))
    np.savez(d / "foreign.npz", __tinysr__=np.array('{"format": "someone-else", "state": {}}'))
    state = model_state(model, 3)
    state["model"]["conv1.weight"] = np.zeros((4, 1, 5, 5), np.float32)
    checkpoint.save(state, d / "wrong_shape.npz")
    state = model_state(model, 3)
    state["model"]["conv1.weight"] = np.full_like(state["model"]["conv1.weight"], np.nan)
    checkpoint.save(state, d / "nan_weights.npz")
    (d / "png.npz").write_bytes((d / "good.png").read_bytes())
    (d / "text.mat").write_text("not matlab")
    (d / "a_folder").mkdir()
    f.update({name: d / name for name in ("text.png", "zero.png", "truncated.png", "huge.png",
                                           "srcnn_x3.npz", "truncated.npz", "plain.npz", "foreign.npz",
                                           "wrong_shape.npz", "nan_weights.npz", "png.npz", "text.mat",
                                           "a_folder")})
    f["missing.png"], f["missing.npz"] = d / "missing.png", d / "missing.npz"
    return f


def unwritable_folder(tmp_path):
    """A folder no file can be created in, for this user (root ignores permissions)."""
    if os.geteuid() != 0:
        ro = tmp_path / "read_only"
        ro.mkdir()
        ro.chmod(0o555)
        return ro
    for candidate in (Path("/sys"), Path("/proc/sys")):
        try:
            probe = candidate / ".tinysr-probe"
            probe.write_bytes(b"")
            probe.unlink()
        except OSError:
            return candidate
    pytest.skip("no unwritable folder here (running as root on a writable system)")


def check_one_line_error(status, capsys, expect, output=None, statuses=(1, 2)):
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert status in statuses, f"exit status {status}; stderr: {err}"
    assert len(lines) == 1, f"expected one line on stderr, got:\n{err}"
    assert "Traceback" not in err
    for word in expect:
        assert word in lines[0], f"{word!r} not in {lines[0]!r}"
    if output is not None and output.exists():
        assert output.read_bytes() == SENTINEL, "an existing output was changed"
    return lines[0]


# (case id, argv builder, words the one line must contain)
UPSCALE = "upscale"
CASES = [
    ("missing input", lambda f, o: [UPSCALE, str(f["missing.png"]), str(o), "--method", "bicubic", "--scale", "2"],
     ["missing.png", "no such image"]),
    ("text named .png", lambda f, o: [UPSCALE, str(f["text.png"]), str(o), "--method", "bicubic", "--scale", "2"],
     ["text.png", "not an image"]),
    ("zero-byte .png", lambda f, o: [UPSCALE, str(f["zero.png"]), str(o), "--method", "bicubic", "--scale", "2"],
     ["zero.png", "empty file"]),
    ("truncated png", lambda f, o: [UPSCALE, str(f["truncated.png"]), str(o), "--method", "bicubic", "--scale", "2"],
     ["truncated.png", "truncated or corrupt PNG"]),
    ("huge png header", lambda f, o: [UPSCALE, str(f["huge.png"]), str(o), "--method", "bicubic", "--scale", "2"],
     ["huge.png", "huge"]),
    ("input is a folder", lambda f, o: [UPSCALE, str(f["a_folder"]), str(o), "--method", "bicubic", "--scale", "2"],
     ["a_folder", "is a folder"]),
    ("missing model", lambda f, o: [UPSCALE, str(f["good"]), str(o), "--model", str(f["missing.npz"])],
     ["missing.npz", "no such checkpoint"]),
    ("truncated npz", lambda f, o: [UPSCALE, str(f["good"]), str(o), "--model", str(f["truncated.npz"])],
     ["truncated.npz", "truncated or corrupt"]),
    ("plain npz", lambda f, o: [UPSCALE, str(f["good"]), str(o), "--model", str(f["plain.npz"])],
     ["plain.npz", "not a tinysr checkpoint"]),
    ("foreign npz", lambda f, o: [UPSCALE, str(f["good"]), str(o), "--model", str(f["foreign.npz"])],
     ["foreign.npz", "someone-else"]),
    ("wrong-shaped weight", lambda f, o: [UPSCALE, str(f["good"]), str(o), "--model", str(f["wrong_shape.npz"])],
     ["wrong_shape.npz", "conv1.weight", "shape"]),
    ("NaN weights", lambda f, o: [UPSCALE, str(f["good"]), str(o), "--model", str(f["nan_weights.npz"])],
     ["nan_weights.npz", "non-finite"]),
    ("png renamed npz", lambda f, o: [UPSCALE, str(f["good"]), str(o), "--model", str(f["png.npz"])],
     ["png.npz", "a PNG image, not a tinysr checkpoint"]),
    ("output is a folder", lambda f, o: [UPSCALE, str(f["good"]), str(f["a_folder"]), "--method", "bicubic",
                                         "--scale", "2"], ["a_folder", "is a folder"]),
    ("output .xyz", lambda f, o: [UPSCALE, str(f["good"]), str(o.with_suffix(".xyz")), "--method", "bicubic",
                                  "--scale", "2"], [".xyz", "unsupported output type"]),
    ("scale -1", lambda f, o: [UPSCALE, str(f["good"]), str(o), "--method", "bicubic", "--scale", "-1"],
     ["--scale", "from 2 to 8", "-1"]),
    ("scale 0", lambda f, o: [UPSCALE, str(f["good"]), str(o), "--model", str(f["srcnn_x3.npz"]), "--scale", "0"],
     ["--scale", "got 0"]),
    ("scale 100", lambda f, o: [UPSCALE, str(f["good"]), str(o), "--method", "bicubic", "--scale", "100"],
     ["--scale", "got 100"]),
    ("scale text", lambda f, o: [UPSCALE, str(f["good"]), str(o), "--method", "bicubic", "--scale", "x3"],
     ["--scale", "'x3' is not an integer"]),
    ("tile -5", lambda f, o: [UPSCALE, str(f["good"]), str(o), "--model", str(f["srcnn_x3.npz"]), "--tile", "-5"],
     ["--tile", "-5"]),
    ("output too large", lambda f, o: [UPSCALE, str(f["good"]), str(o), "--method", "bicubic", "--scale", "8",
                                       "--max-megapixels", "0.05"], ["--max-megapixels", "megapixels"]),
    ("method without scale", lambda f, o: [UPSCALE, str(f["good"]), str(o), "--method", "bicubic"],
     ["--scale is needed"]),
    ("unknown method", lambda f, o: [UPSCALE, str(f["good"]), str(o), "--method", "magic", "--scale", "2"],
     ["--method", "invalid choice: 'magic'"]),
    ("eval scales 0", lambda f, o: ["eval", "--scales", "0"], ["--scales", "got 0"]),
    ("eval scales -1", lambda f, o: ["eval", "--scales", "2", "-1"], ["--scales"]),
    ("eval unknown set", lambda f, o: ["eval", "--sets", "NoSuchSet", "--scales", "2"],
     ["NoSuchSet", "neither a known set"]),
    ("eval bad model", lambda f, o: ["eval", "--model", str(f["png.npz"]), "--sets", str(f["a_folder"])],
     ["png.npz", "PNG image"]),
    ("eval csv folder", lambda f, o: ["eval", "--sets", "Set5", "--csv", str(f["a_folder"])],
     ["a_folder", "is a folder"]),
    ("import missing source", lambda f, o: ["import-weights", "srcnn", str(f["missing.npz"]), str(o.with_suffix(".npz"))],
     ["missing.npz", "no such"]),
    ("import text as mat", lambda f, o: ["import-weights", "srcnn", str(f["text.mat"]), str(o.with_suffix(".npz")),
                                         "--scale", "3"], ["text.mat"]),
]


@pytest.mark.parametrize("argv_of, expect", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_is_one_line_and_loses_nothing(files, tmp_path, capsys, argv_of, expect):
    out = tmp_path / "out.png"
    out.write_bytes(SENTINEL)
    out.with_suffix(".npz").write_bytes(SENTINEL)
    status = tinysr_main(argv_of(files, out))
    check_one_line_error(status, capsys, expect, out)
    assert out.with_suffix(".npz").read_bytes() == SENTINEL
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.npz", "out.png"], "a stray file was left"


@pytest.mark.skipif(cuda_available(), reason="a CUDA GPU is present here")
def test_device_cuda_without_cupy(files, tmp_path, capsys):
    out = tmp_path / "out.png"
    out.write_bytes(SENTINEL)
    status = tinysr_main([UPSCALE, str(files["good"]), str(out), "--model", str(files["srcnn_x3.npz"]),
                          "--device", "cuda"])
    check_one_line_error(status, capsys, ["--device cuda", "CuPy"], out)


def test_unwritable_output_folder(files, tmp_path, capsys):
    folder = unwritable_folder(tmp_path)
    status = tinysr_main([UPSCALE, str(files["good"]), str(folder / "out.png"), "--method", "bicubic",
                          "--scale", "2"])
    check_one_line_error(status, capsys, [str(folder), "cannot write"])


def test_read_only_output_file(files, tmp_path, capsys):
    if os.geteuid() == 0:
        pytest.skip("root may write read-only files")
    out = tmp_path / "out.png"
    out.write_bytes(SENTINEL)
    out.chmod(0o444)
    status = tinysr_main([UPSCALE, str(files["good"]), str(out), "--method", "bicubic", "--scale", "2"])
    check_one_line_error(status, capsys, ["out.png", "read-only"], out)


def test_full_disk_leaves_the_old_output(files, tmp_path, capsys, monkeypatch):
    """The write fails at the end (ENOSPC from the disk): the old file stays, no temp is left."""
    out = tmp_path / "out.png"
    out.write_bytes(SENTINEL)

    def full(fd):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    monkeypatch.setattr("tinysr.atomic.os.fsync", full)
    status = tinysr_main([UPSCALE, str(files["good"]), str(out), "--method", "bicubic", "--scale", "2"])
    check_one_line_error(status, capsys, ["out.png", "No space left on device", "nothing was changed"], out)
    assert [p.name for p in tmp_path.iterdir()] == ["out.png"]


def test_good_upscale_writes_the_format_its_suffix_names(files, tmp_path, capsys):
    for suffix, magic in ((".png", b"\x89PNG"), (".jpg", b"\xff\xd8\xff"), (".bmp", b"BM")):
        out = tmp_path / f"up{suffix}"
        assert tinysr_main([UPSCALE, str(files["good"]), str(out), "--model", str(files["srcnn_x3.npz"])]) == 0
        assert out.read_bytes().startswith(magic)
        assert Image.open(out).size == (120, 120)
    assert oct(out.stat().st_mode & 0o777) == oct(0o666 & ~_umask()), "written files follow the umask"
    ckpt = tmp_path / "m.npz"
    checkpoint.save(model_state(SRCNN(f1=3, f2=1, f3=3, n1=4, n2=2), 3), ckpt)
    assert oct(ckpt.stat().st_mode & 0o777) == oct(0o666 & ~_umask()), "checkpoints follow the umask"


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_scale_mismatch_warns_in_one_line(files, tmp_path):
    """A real process, so that the warning goes through the command layer, not pytest's capture."""
    out = tmp_path / "up.png"
    done = subprocess.run([sys.executable, "-m", "tinysr", UPSCALE, str(files["good"]), str(out), "--model",
                           str(files["srcnn_x3.npz"]), "--scale", "2"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    err = done.stderr.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("tinysr upscale: warning:") and "trained for x3" in err[0]
    assert Image.open(out).size == (80, 80)


def test_tiny_tile_is_refused_by_the_library_too():
    from tinysr.inference import _spans
    with pytest.raises(ValueError, match="tile must be >= 1"):
        _spans(100, -5, 4)
    assert _spans(10, 4, 1)[-1] == (7, 10, 8, 10)


# --- the training example --------------------------------------------------------------

def _train_example():
    spec = importlib.util.spec_from_file_location("train_srcnn_example", ROOT / "examples" / "train_srcnn.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


TRAIN_CASES = [
    ("resume without checkpoint", lambda out: ["--out", str(out), "--resume"], ["--resume", "no checkpoint"]),
    ("epochs 0", lambda out: ["--out", str(out), "--epochs", "0"], ["--epochs", "> 0"]),
    ("bad variant", lambda out: ["--out", str(out), "--variant", "9-x-5"], ["--variant", "9-x-5"]),
    ("even filter", lambda out: ["--out", str(out), "--variant", "9-2-5"], ["--variant", "odd"]),
    ("ema 1", lambda out: ["--out", str(out), "--ema", "1"], ["--ema", "[0, 1)"]),
    ("scale 5", lambda out: ["--out", str(out), "--scale", "5"], ["--scale", "invalid choice"]),
]


@pytest.mark.parametrize("argv_of, expect", [c[1:] for c in TRAIN_CASES], ids=[c[0] for c in TRAIN_CASES])
def test_training_bad_input_fails_before_any_work(tmp_path, capsys, argv_of, expect):
    example = _train_example()
    out = tmp_path / "run"
    t0 = time.perf_counter()
    status = run(example.main, argv_of(out), prog="train_srcnn.py", resumable=True)
    check_one_line_error(status, capsys, expect)
    assert not out.exists(), "a failed start must not leave an output folder"
    assert time.perf_counter() - t0 < 10, "the check must come before the data is loaded"


def test_training_refuses_to_replace_a_run(tmp_path, capsys):
    example = _train_example()
    out = tmp_path / "run"
    out.mkdir()
    checkpoint.save({"w": np.ones(2)}, out / "checkpoint.npz")
    before = (out / "checkpoint.npz").read_bytes()
    status = run(example.main, ["--out", str(out)], prog="train_srcnn.py", resumable=True)
    check_one_line_error(status, capsys, [str(out), "--resume", "--overwrite"])
    assert (out / "checkpoint.npz").read_bytes() == before


@pytest.mark.skipif(cuda_available(), reason="a CUDA GPU is present here")
def test_training_device_cuda_without_cupy(tmp_path, capsys):
    status = run(_train_example().main, ["--out", str(tmp_path / "run"), "--device", "cuda"],
                 prog="train_srcnn.py", resumable=True)
    check_one_line_error(status, capsys, ["--device cuda", "CuPy"])


def test_ctrl_c_during_training_names_the_checkpoint_and_the_resume_command(tmp_path):
    """A real process, a real SIGINT: status 130, one line with the checkpoint and the command."""
    out = tmp_path / "run"
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    cmd = [sys.executable, str(ROOT / "examples" / "train_srcnn.py"), "--out", str(out), "--epochs", "1000",
           "--max-images", "2", "--batch", "8", "--variant", "9-1-5"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                            cwd=tmp_path, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.time() + 240
    while not (out / "checkpoint.npz").exists() and time.time() < deadline and proc.poll() is None:
        time.sleep(0.5)
    assert proc.poll() is None, proc.communicate()
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130, stderr
    last = stderr.strip().splitlines()[-1]
    assert "Traceback" not in stderr
    assert "interrupted in epoch" in last and "checkpoint.npz holds the end of epoch" in last
    assert last.endswith("--resume") and "train_srcnn.py" in last
    assert checkpoint.load(out / "checkpoint.npz")["train"]["epoch"] >= 1
    assert (out / "loss.png").exists(), "the figures are written when the run stops"


def test_console_script_errors_are_one_line(files, tmp_path):
    """The installed `tinysr` entry point (a real process): status 1, one line, no traceback."""
    out = subprocess.run([sys.executable, "-m", "tinysr", UPSCALE, str(files["text.png"]), str(tmp_path / "o.png"),
                          "--method", "bicubic", "--scale", "2"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 1
    assert out.stderr.strip().splitlines() == [f"tinysr upscale: error: {files['text.png']}: not an image file "
                                               "of a known type (tinysr reads PNG, JPEG, BMP, TIFF, GIF, WebP, "
                                               "PPM/PGM)"]


def _example(name):
    spec = importlib.util.spec_from_file_location(f"example_{name}", ROOT / "examples" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


EXAMPLES = ("train_srcnn", "train_vdsr", "train_drcn", "train_gan", "aplus", "sparse_coding")


def test_every_help_lists_its_choices_and_explains_each_flag(capsys):
    import argparse
    from tinysr.cli import build_parser
    parsers = dict(build_parser()._subparsers._group_actions[0].choices)
    captured = {}

    def grab(self, *a, **k):
        captured["parser"] = self
        raise SystemExit(0)
    original = argparse.ArgumentParser.parse_args
    argparse.ArgumentParser.parse_args = grab
    try:
        for name in EXAMPLES:
            with pytest.raises(SystemExit):
                _example(name).main([])
            parsers[f"{name}.py"] = captured.pop("parser")
    finally:
        argparse.ArgumentParser.parse_args = original
    for name, parser in parsers.items():
        assert isinstance(parser, Parser), f"{name} does not use the one-line error parser"
        for action in parser._actions:
            if isinstance(action, argparse._HelpAction):
                continue
            assert action.help, f"{name} {action.option_strings or action.dest} has no help text"
        text = parser.format_help()
        for action in parser._actions:
            for choice in action.choices or ():
                assert str(choice) in text, f"{name}: choice {choice!r} not in --help"
    assert "bicubic" in parsers["upscale"].format_help() and "cuda" in parsers["upscale"].format_help()


# --- fuzz: malformed images and checkpoints ----------------------------------------------

def _mutate(data, data_strategy):
    kind = data_strategy.draw(st.sampled_from(["truncate", "flip", "splice"]))
    if kind == "truncate":
        return data[: data_strategy.draw(st.integers(0, len(data) - 1))]
    if kind == "flip":
        out = bytearray(data)
        for _ in range(data_strategy.draw(st.integers(1, 8))):
            i = data_strategy.draw(st.integers(0, len(out) - 1))
            out[i] ^= data_strategy.draw(st.integers(1, 255))
        return bytes(out)
    junk = data_strategy.draw(st.binary(min_size=1, max_size=64))
    i = data_strategy.draw(st.integers(0, len(data)))
    return data[:i] + junk + data[i + len(junk):]


@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_fuzzed_images_never_traceback(files, tmp_path_factory, data):
    import io
    fmt = data.draw(st.sampled_from(["PNG", "BMP", "JPEG"]))
    buf = io.BytesIO()
    Image.open(files["good"]).save(buf, format=fmt)
    d = tmp_path_factory.mktemp("fuzz")
    src, out = d / f"in.{fmt.lower()}", d / "out.png"
    src.write_bytes(_mutate(buf.getvalue(), data))
    out.write_bytes(SENTINEL)
    _expect_clean(tinysr_main, [UPSCALE, str(src), str(out), "--method", "bicubic", "--scale", "2"], out, src)


@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_fuzzed_checkpoints_never_traceback(files, tmp_path_factory, data):
    d = tmp_path_factory.mktemp("fuzz")
    ckpt, out = d / "m.npz", d / "out.png"
    ckpt.write_bytes(_mutate(files["srcnn_x3.npz"].read_bytes(), data))
    out.write_bytes(SENTINEL)
    _expect_clean(tinysr_main, [UPSCALE, str(files["good"]), str(out), "--model", str(ckpt)], out, ckpt)


def _expect_clean(command, argv, out, culprit):
    """Status 0 with a new output, or status 1 with one line naming the culprit and the old output."""
    import contextlib
    import io
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        status = command(argv)
    lines = [line for line in err.getvalue().splitlines() if line.strip() and ": warning:" not in line]
    if status == 0:
        assert out.read_bytes() != SENTINEL and not lines
        return
    assert status == 1, err.getvalue()
    assert len(lines) == 1 and str(culprit) in lines[0] and "Traceback" not in err.getvalue(), err.getvalue()
    assert out.read_bytes() == SENTINEL
