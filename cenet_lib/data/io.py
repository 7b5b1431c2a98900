"""Reading and writing image files with errors that name the file.

TIFF goes through tifffile (imagecodecs decodes LZW and zlib), every other format (PNG, JPEG, GIF,
BMP) through Pillow, which reads GIF masks too. Arrays come back as stored: (H, W) for grey,
(H, W, 3) for colour, (N, H, W) for multi-page TIFFs.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import tifffile
from PIL import Image

from .base import DatasetError

TIFF_SUFFIXES = {".tif", ".tiff"}
IMAGE_SUFFIXES = TIFF_SUFFIXES | {".png", ".jpg", ".jpeg", ".gif", ".bmp"}


def read_array(path: Path) -> np.ndarray:
    """The pixel array of ``path``; palette images give their indices (DRIVE's 2nd observer: 0/1)."""
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"File not found: {path}")
    try:
        if path.suffix.lower() in TIFF_SUFFIXES:
            return tifffile.imread(path)
        with Image.open(path) as image:
            image.load()
            return np.asarray(image)
    except Exception as error:
        if "imagecodecs" in str(error):  # e.g. DRIVE's LZW-compressed TIFFs: the file is fine, a decoder is missing
            fix = "Its compression needs the imagecodecs package: pip install imagecodecs."
        else:
            fix = "The file may be truncated or corrupt: copy or download it again."
        raise DatasetError(f"Cannot read {path} as an image ({type(error).__name__}: {error}). {fix}") from error


def read_image(path: Path, channels: int) -> np.ndarray:
    """An image as (H, W, channels): 3 for colour (an alpha channel is dropped), 1 for grey."""
    array = read_array(path)
    if array.ndim == 2:
        array = array[..., None]
    if array.ndim == 3 and channels == 3 and array.shape[2] == 4:
        array = array[..., :3]
    if array.ndim != 3 or array.shape[2] != channels:
        raise DatasetError(
            f"{path}: expected an image with {channels} channel(s), found an array of shape {array.shape}."
        )
    return array


def read_mask(path: Path) -> np.ndarray:
    """A binary mask as uint8 {0, 1}: any nonzero pixel is foreground (0/255 and 0/1 files alike)."""
    array = read_array(path)
    if array.ndim == 3:  # a mask saved as RGB(A): all colour channels carry the same value
        array = array[..., 0]
    if array.ndim != 2:
        raise DatasetError(f"{path}: expected a single-channel mask, found an array of shape {array.shape}.")
    return (array > 0).astype(np.uint8)


def write_image(path: Path, array: np.ndarray, **tiff_options) -> None:
    """Write ``array`` to ``path`` in the format its suffix names (TIFF options go to tifffile)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix.lower() in TIFF_SUFFIXES:
        tifffile.imwrite(path, array, **tiff_options)
    elif path.suffix.lower() in {".jpg", ".jpeg"}:
        Image.fromarray(array).save(path, quality=90, subsampling=0)
    elif path.suffix.lower() == ".gif":  # keep grey values (optimize would remap them to palette indices)
        Image.fromarray(array).save(path, optimize=False)
    else:
        Image.fromarray(array).save(path)


def list_images(folder: Path) -> list[Path]:
    """Image files of ``folder``, sorted by name."""
    return sorted(p for p in Path(folder).iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
