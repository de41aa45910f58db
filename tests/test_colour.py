import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinysr.data import rgb2ycbcr, round_uint8, y_channel, ycbcr2rgb


def test_black_and_white_map_to_studio_range():
    img = np.array([[[0, 0, 0], [255, 255, 255]]], np.uint8)
    y = rgb2ycbcr(img)
    assert y.dtype == np.uint8 and y.tolist() == [[[16, 128, 128], [235, 128, 128]]]
    yf = rgb2ycbcr(img / 255.0)
    np.testing.assert_allclose(yf * 255, [[[16, 128, 128], [235, 128, 128]]], atol=1e-12)


def test_primary_colours_match_matlab_rounding():
    img = np.array([[[255, 0, 0], [0, 255, 0], [0, 0, 255]]], np.uint8)
    # MATLAB: rgb2ycbcr(uint8([255 0 0])) = [81 90 240] etc.
    assert rgb2ycbcr(img).tolist() == [[[81, 90, 240], [145, 54, 34], [41, 240, 110]]]


@settings(max_examples=50, deadline=None)
@given(st.tuples(*[st.integers(0, 255)] * 3), st.integers(1, 9), st.integers(1, 9))
def test_constants_map_to_constants(rgb, h, w):
    img = np.empty((h, w, 3), np.uint8)
    img[:] = rgb
    y = rgb2ycbcr(img)
    assert np.all(y == y[0, 0])
    exact = 16 + (65.481 * rgb[0] + 128.553 * rgb[1] + 24.966 * rgb[2]) / 255
    assert y[0, 0, 0] == np.floor(exact + 0.5)


def test_float_roundtrip_and_uint8_roundtrip():
    rgb = np.random.default_rng(0).random((7, 9, 3))
    np.testing.assert_allclose(ycbcr2rgb(rgb2ycbcr(rgb)), rgb, atol=1e-12)
    u8 = np.random.default_rng(1).integers(0, 256, (7, 9, 3), dtype=np.uint8)
    back = ycbcr2rgb(rgb2ycbcr(u8))
    assert back.dtype == np.uint8 and np.abs(back.astype(int) - u8).max() <= 3


def test_round_uint8_is_half_away_from_zero_and_saturates():
    assert round_uint8([0.5, 1.5, 2.4999, -3, 254.5, 300]).tolist() == [1, 2, 2, 0, 255, 255]


def test_y_channel_conventions():
    grey = np.array([[0, 128, 255]], np.uint8)
    np.testing.assert_array_equal(y_channel(grey), grey / 255.0)  # used as Y, not compressed
    rgb = np.repeat(grey[:, :, None], 3, axis=2)
    np.testing.assert_array_equal(y_channel(rgb) * 255, [[16, 126, 235]])  # rounded uint8 Y
    with pytest.raises(TypeError):
        y_channel(grey / 255.0)
    with pytest.raises(ValueError):
        rgb2ycbcr(np.zeros((3, 3, 4)))


def test_matches_matlab_fixture(matlab_imresize_golden):
    data = np.load(matlab_imresize_golden)
    for key in (k[: -len("/im_gt")] for k in data.files if k.endswith("/im_gt")):
        y = rgb2ycbcr(data[key + "/im_gt"] / 255.0)[:, :, 0] * 255
        assert np.abs(y - data[key + "/im_gt_y"]).max() < 1e-6, key
