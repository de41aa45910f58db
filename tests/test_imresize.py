import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinysr.data import imresize, make_lr_ilr, make_pair, modcrop, rgb2ycbcr


@pytest.mark.parametrize("name", ["bird", "butterfly"])
@pytest.mark.parametrize("scale", [2, 3, 4])
def test_matches_matlab_fixture(name, scale, matlab_imresize_golden):
    data = np.load(matlab_imresize_golden)
    key = f"{name}_GT_x{scale}/"
    ycc = rgb2ycbcr(data[key + "im_gt"] / 255.0)
    lr = imresize(ycc, scale=1 / scale)
    assert lr.shape == data[key + "im_l_ycbcr"].shape
    assert np.abs(lr - data[key + "im_l_ycbcr"]).max() * 255 < 1e-6
    up = imresize(data[key + "im_l_ycbcr"], scale=scale)[:, :, 0] * 255
    assert np.abs(up - data[key + "im_b_y"]).max() < 1e-6


@pytest.mark.parametrize("method", ["bicubic", "box"])
def test_scale_one_is_identity(method):
    img = np.random.default_rng(0).random((13, 7))
    np.testing.assert_allclose(imresize(img, 1, method=method), img, atol=1e-12)
    u8 = (img * 255).astype(np.uint8)
    assert np.array_equal(imresize(u8, 1), u8) and imresize(u8, 1).dtype == np.uint8


def test_output_sizes_are_ceil():
    img = np.zeros((7, 5, 3))
    assert imresize(img, 0.5).shape == (4, 3, 3)
    assert imresize(img, 3).shape == (21, 15, 3)
    assert imresize(img, 1 / 3).shape == (3, 2, 3)
    assert imresize(img, shape=(10, 2)).shape == (10, 2, 3)
    assert imresize(np.zeros((255, 255)), 1 / 3).shape == (85, 85)


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 40), st.integers(1, 40), st.sampled_from([0.25, 1 / 3, 0.5, 0.7, 1.5, 2, 3, 4]),
       st.sampled_from(["bicubic", "box"]), st.floats(0, 255))
def test_constants_stay_constant_for_any_size(h, w, scale, method, value):
    out = imresize(np.full((h, w), value), scale, method=method)
    assert out.shape == (int(np.ceil(h * scale)), int(np.ceil(w * scale)))
    np.testing.assert_allclose(out, value, rtol=1e-12, atol=1e-9)


def test_box_downscale_is_block_mean():
    img = np.random.default_rng(1).random((12, 8))
    np.testing.assert_allclose(imresize(img, 0.25, method="box"),
                               img.reshape(3, 4, 2, 4).mean(axis=(1, 3)), atol=1e-12)


def test_channels_are_independent_and_uint8_is_rounded():
    img = np.random.default_rng(2).random((9, 11, 3))
    out = imresize(img, 1 / 3)
    for c in range(3):
        np.testing.assert_allclose(out[:, :, c], imresize(img[:, :, c], 1 / 3), atol=1e-12)
    u8 = (img * 255).round().astype(np.uint8)
    exp = np.clip(np.floor(imresize(u8.astype(float), 2) + 0.5), 0, 255)
    assert np.array_equal(imresize(u8, 2), exp.astype(np.uint8))


def test_bad_arguments():
    with pytest.raises(ValueError):
        imresize(np.zeros((4, 4)), 2, shape=(8, 8))
    with pytest.raises(ValueError):
        imresize(np.zeros((4, 4)))
    with pytest.raises(ValueError):
        imresize(np.zeros((4, 4)), 2, method="lanczos")


def test_modcrop_and_degradation_shapes():
    y = np.random.default_rng(3).random((17, 23))
    assert modcrop(y, 3).shape == (15, 21) and modcrop(np.zeros((17, 23, 3)), 4).shape == (16, 20, 3)
    lr, ilr, hr = make_pair(y, 3)
    assert lr.shape == (5, 7) and ilr.shape == hr.shape == (15, 21)
    assert lr.dtype == ilr.dtype == np.float64
    lr2, ilr2 = make_lr_ilr(hr, 3)
    assert np.array_equal(lr, lr2) and np.array_equal(ilr, ilr2)
    with pytest.raises(ValueError, match="modcrop"):
        make_lr_ilr(y, 3)
