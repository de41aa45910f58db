"""Data pipeline: image files, MATLAB colour and resize, degradation, datasets, patches."""
from .colour import rgb2ycbcr, round_uint8, y_channel, ycbcr2rgb
from .datasets import (SAMPLE_SET, ChecksumError, Dataset, DatasetNotFound, data_roots, known_sets,
                       load_dataset, sample_dataset)
from .degrade import make_lr_ilr, make_pair, modcrop
from .image_io import ImageReadError, list_images, read_image, write_image
from .imresize import imresize

__all__ = ["imresize", "rgb2ycbcr", "ycbcr2rgb", "y_channel", "round_uint8", "modcrop", "make_lr_ilr",
           "make_pair", "load_dataset", "Dataset", "DatasetNotFound", "ChecksumError", "data_roots",
           "known_sets", "sample_dataset", "SAMPLE_SET", "read_image", "write_image", "list_images",
           "ImageReadError"]
