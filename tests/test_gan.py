"""The srez face super-resolver: TensorFlow's SAME padding, the simultaneous update, the
face pipeline, the CLI, and a CI smoke run on real faces."""
import numpy as np

import tinysr
from tinysr import cli, optim
from tinysr.data.faces import box_average
from tinysr.models.srez import ConvNormReLU, Discriminator, Generator
from tinysr.training.gan import gan_step


def test_shapes_and_tensorflow_same_padding():
    gen, disc = Generator(channels=(8, 4), head=6), Discriminator(channels=(4, 4, 4, 4))
    lr = tinysr.tensor(np.random.default_rng(0).random((2, 3, 16, 16)).astype(np.float32))
    out = gen(lr)
    assert out.shape == (2, 3, 64, 64) and 0 < out.numpy().min() and out.numpy().max() < 1
    assert disc(out).shape == (2,)
    # a stride-2 3x3 'SAME' conv on an even size: out = n / 2, padding 0 before and 1 after
    layer = ConvNormReLU(3, 2, 3, np.random.default_rng(1), stride=2)
    x = np.random.default_rng(2).random((2, 3, 8, 8))
    w = layer.conv.weight.numpy().astype(np.float64)
    padded = np.pad(x, ((0, 0), (0, 0), (0, 1), (0, 1)))
    conv = np.zeros((2, 2, 4, 4))
    for i in range(4):
        for j in range(4):
            conv[:, :, i, j] = np.einsum("nchw,ochw->no", padded[:, :, 2 * i:2 * i + 3, 2 * j:2 * j + 3], w)
    mean, var = conv.mean(axis=(0, 2, 3), keepdims=True), conv.var(axis=(0, 2, 3), keepdims=True)
    expected = np.maximum((conv - mean) / np.sqrt(var + 1e-3), 0)     # shift 0 at the start
    ours = layer(tinysr.tensor(x.astype(np.float32))).numpy()
    np.testing.assert_allclose(ours, expected, atol=1e-4)


def test_one_step_updates_both_from_the_same_forward_pass():
    """D's update equals the one its own loss alone gives; G's loss never reaches D."""
    rng = np.random.default_rng(3)
    hr = rng.random((4, 3, 64, 64)).astype(np.float32)
    lr = box_average(hr, 4).astype(np.float32)
    noise = rng.normal(0, 0.03, lr.shape).astype(np.float32)

    def fresh():
        gen, disc = Generator(channels=(8, 4), head=6, seed=4), Discriminator(channels=(4, 4, 4, 4), seed=5)
        return gen, disc, optim.Adam(gen.parameters(), lr=1e-3, betas=(0.5, 0.999)), \
            optim.Adam(disc.parameters(), lr=1e-3, betas=(0.5, 0.999))
    gen, disc, opt_g, opt_d = fresh()
    values = gan_step(gen, disc, opt_g, opt_d, "cpu", 0.9, 1.0)((hr, lr, noise))
    assert set(values) == {"disc_real", "disc_fake", "gene", "l1"}

    gen2, disc2, _, opt_d2 = fresh()            # D alone, on the same generated batch
    fake = gen2(tinysr.tensor(lr + noise)).detach()
    F = tinysr.functional
    loss = F.binary_cross_entropy_with_logits(disc2(tinysr.tensor(hr)), tinysr.tensor(np.ones(4, np.float32))) + \
        F.binary_cross_entropy_with_logits(disc2(fake), tinysr.tensor(np.zeros(4, np.float32)))
    opt_d2.zero_grad()
    loss.backward()
    opt_d2.step()
    for (name, a), (_, b) in zip(disc.named_parameters(), disc2.named_parameters()):
        np.testing.assert_allclose(a.numpy(), b.numpy(), atol=1e-7, err_msg=name)
    assert not all(np.array_equal(a.numpy(), b.numpy()) for a, b in
                   zip(gen.parameters(), Generator(channels=(8, 4), head=6, seed=4).parameters()))


def test_upscale_cli_runs_a_face_generator(tmp_path, capsys):
    from PIL import Image
    from tinysr.models.registry import model_state
    gen = Generator(channels=(8, 4), head=6)
    tinysr.save(model_state(gen, 4), tmp_path / "gan.npz")
    face = (np.random.default_rng(0).random((16, 16, 3)) * 255).astype(np.uint8)
    Image.fromarray(face).save(tmp_path / "face.png")
    assert cli.main(["upscale", str(tmp_path / "face.png"), str(tmp_path / "out.png"), "--model",
                     str(tmp_path / "gan.npz")]) == 0
    assert Image.open(tmp_path / "out.png").size == (64, 64) and Image.open(tmp_path / "out.png").mode == "RGB"
    assert cli.main(["eval", "--model", str(tmp_path / "gan.npz"), "--sets", str(tmp_path), "--scales", "4"]) == 2
    assert "face model of RGB images" in capsys.readouterr().err


def test_smoke_thirty_iterations_lower_the_l1_term(tmp_path, require_sets):
    """CI smoke: 30 iterations on 64 real faces (batch 8) lower the generator's L1 term."""
    from tinysr.training import gan
    require_sets("CelebA")
    summary = gan.train(epochs=1, batch=8, max_steps=30, max_faces=64, out=str(tmp_path), progress=False,
                        device="cpu")
    l1 = summary["history"]["l1"]
    assert summary["iterations"] == 30 and len(l1) == 3
    assert l1[-1] < 0.8 * l1[0], l1
    assert all(np.isfinite(summary["history"][k]).all() for k in ("disc_real", "disc_fake", "gene"))
    for name in ("losses.png", "faces_00010.png"):
        assert (tmp_path / name).stat().st_size > 1000


def _script(name):
    import importlib.util
    from pathlib import Path
    spec = importlib.util.spec_from_file_location(name, Path(__file__).resolve().parents[1] / "examples" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_face_scores_truth_is_perfect_and_blur_is_less_sharp():
    """evaluate_faces.scores: the truth against itself has SSIM 1 and sharpness 1; a 3x3
    box blur keeps the mean but lowers the gradient magnitude and the SSIM."""
    faces = _script("evaluate_faces")
    rng = np.random.default_rng(0)
    truth = rng.random((3, 3, 16, 16))
    same = faces.scores(truth + 1e-4, truth)       # rounds to the same uint8 almost everywhere
    assert same["ssim"] > 0.999 and abs(same["sharpness"] - 1.0) < 1e-3
    pad = np.pad(truth, ((0, 0), (0, 0), (1, 1), (1, 1)), mode="edge")
    blur = sum(pad[..., i:i + 16, j:j + 16] for i in range(3) for j in range(3)) / 9.0
    s = faces.scores(blur, truth)
    assert s["sharpness"] < 0.6 and s["ssim"] < 0.9 and 5 < s["psnr"] < 40


def test_evaluate_faces_table_on_held_out_faces(tmp_path, require_sets, capsys):
    """End to end on 40 faces (20 held out): bicubic and a (random) generator each get a row."""
    from tinysr.checkpoint import save
    from tinysr.models.registry import model_state
    from tinysr.models.srez import Generator
    require_sets("CelebA")
    faces = _script("evaluate_faces")
    path = tmp_path / "g.npz"
    save(model_state(Generator(channels=(8, 8), head=8, seed=0), 4, l1=0.9, adversarial=1.0), str(path))
    table = tmp_path / "t.md"
    assert faces.main(["--model", f"tiny={path}", "--max-faces", "40", "--device", "cpu",
                       "--table", str(table)]) == 0
    text = table.read_text()
    assert text.startswith("20 held-out faces") and "| bicubic |" in text and "| tiny | l1 0.9" in text
    bicubic = [line for line in text.splitlines() if line.startswith("| bicubic")][0].split("|")
    assert 20 < float(bicubic[3]) < 40 and 0.3 < float(bicubic[5]) < 1.0
