"""Reading and writing image files with errors that name the file.

TIFF goes through tifffile (imagecodecs decodes LZW and zlib), every other format (PNG, JPEG, GIF,
BMP) through Pillow, which reads GIF masks too. Arrays come back as a viewer shows them: Pillow's
files turned by their EXIF orientation (a phone's JPEG stored 652x400 and shown 400x652 is read
400x652, its mask too), (H, W) for grey, (H, W, 3) for colour, (N, H, W) for multi-page TIFFs.

An image whose channels differ from what the reader or model expects is converted by one rule
(:func:`to_channels`): grey to RGB by repeating the grey channel, RGB to grey by ITU-R BT.601 luma
(Pillow's ``convert("L")``), an alpha channel dropped: for a folder of the user's own images and
the inputs of ``cenet predict``, which note the files converted. A public dataset's reader refuses
such a file instead, since its kind is known.

Two kinds of file would otherwise pass and train on nonsense, and are refused with the rule to
apply (:func:`read_image`, :func:`grey_mask`):

* images deeper than 8 bits (16-bit PNG and TIFF exports of microscopes and CT): the network's
  input is ``x / 255 * 3.2 - 1.6`` (:func:`cenet_lib.data.transforms.normalize`), so a 16-bit value
  would reach it up to 256 times too large. A deeper file whose values all fit in 0..255 is read
  as the 8-bit image it holds;
* colour masks (objects in green on black, as annotation tools save them): a mask is one grey
  channel, and reading one channel of a colour mask loses the objects of the others. RGB masks
  whose three channels are equal (grey saved as RGB) are read as grey.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import tifffile
from PIL import Image, ImageOps

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
            return np.asarray(ImageOps.exif_transpose(image))
    except Exception as error:
        if "imagecodecs" in str(error):  # e.g. DRIVE's LZW-compressed TIFFs: the file is fine, a decoder is missing
            fix = "Its compression needs the imagecodecs package: pip install imagecodecs."
        else:
            fix = "The file may be truncated or corrupt: copy or download it again."
        raise DatasetError(f"Cannot read {path} as an image ({type(error).__name__}: {error}). {fix}") from error


def channel_count(path: Path) -> int | None:
    """The number of channels of the image in ``path``, read from its header (1 for grey and palette
    images); ``None`` for a file that cannot be read (loading it names the file and the fix)."""
    path = Path(path)
    try:
        if path.suffix.lower() in TIFF_SUFFIXES:
            with tifffile.TiffFile(path) as tiff:
                shape = tiff.pages[0].shape
            return 1 if len(shape) == 2 else int(shape[-1])
        with Image.open(path) as image:
            return len(image.getbands()) if image.mode not in ("P", "PA") else 1
    except Exception:
        return None


def bit_depth(path: Path) -> str:
    """The stored depth of the image in ``path`` (``uint8``, ``uint16``, ``float32`` ...), from its header."""
    path = Path(path)
    try:
        if path.suffix.lower() in TIFF_SUFFIXES:
            with tifffile.TiffFile(path) as tiff:
                return str(tiff.pages[0].dtype)
        with Image.open(path) as image:
            return {"I;16": "uint16", "I;16B": "uint16", "I": "int32", "F": "float32"}.get(image.mode, "uint8")
    except Exception:
        return "unreadable"


def eight_bit(array: np.ndarray, path: Path) -> np.ndarray:
    """``array`` as uint8 when it is 8-bit or an integer array whose values fit 0..255, floats in
    [0, 1] as they are; any other depth is refused with the rule that converts it."""
    if array.dtype == np.uint8:
        return array
    low, high = (array.min(), array.max()) if array.size else (0, 0)
    if array.dtype.kind in "iu" and 0 <= low and high <= 255:
        return array.astype(np.uint8)
    if array.dtype.kind == "f" and 0 <= low and high <= 1:
        return array
    bits = f"{array.dtype.itemsize * 8}-bit {'float' if array.dtype.kind == 'f' else 'integer'}"
    raise DatasetError(
        f"{path}: a {bits} image ({array.dtype}, values {low:g}..{high:g}); images must be 8-bit (uint8, or floats "
        f"in [0, 1]). Rescale every image of the dataset by one rule, e.g. round((value - {low:g}) * 255 / "
        f"{high - low:g}) with the dataset's own range, and save them as 8-bit PNG."
    )


def grey_mask(array: np.ndarray, path: Path) -> np.ndarray:
    """A mask's one channel: (H, W) as stored, or an RGB(A) mask whose colour channels are equal;
    a mask whose channels differ (a colour mask) is refused, naming its colours."""
    if array.ndim != 3:
        return array
    colour = array[..., :3] if array.shape[-1] >= 3 else array[..., :1]  # alpha (LA, RGBA) is dropped
    if (colour == colour[..., :1]).all():
        return colour[..., 0]
    colours = np.unique(colour.reshape(-1, colour.shape[-1]), axis=0)
    shown = ", ".join(str(tuple(int(v) for v in c)) for c in colours[:4]) + (" ..." if len(colours) > 4 else "")
    raise DatasetError(
        f"{path} is a colour mask ({len(colours)} colours: {shown}); a mask is one grey channel, and reading one "
        "channel would lose objects. Save it as a single-channel PNG: 0 for background, 255 (or 1) for the objects, "
        "or the class labels 0..K-1."
    )


#: ITU-R BT.601 luma weights, as Pillow's ``convert("L")`` applies them.
LUMA = np.array([0.299, 0.587, 0.114], np.float32)


def to_channels(array: np.ndarray, channels: int) -> np.ndarray:
    """(H, W, C) image ``array`` with ``channels`` (1 or 3) channels, by the rule in the module docstring."""
    colour = array[..., :3] if array.shape[2] >= 3 else array[..., :1]  # alpha (LA, RGBA) dropped
    if colour.shape[2] == channels:
        return colour
    if channels == 3:
        return np.repeat(colour, 3, axis=2)
    grey = colour.astype(np.float32) @ LUMA
    return (np.round(grey) if array.dtype == np.uint8 else grey).astype(array.dtype)[..., None]


def read_image(path: Path, channels: int, convert: bool = False) -> np.ndarray:
    """An image as (H, W, channels), 3 for colour and 1 for grey, 8-bit (:func:`eight_bit`); an
    alpha channel is dropped. An image of the other kind is converted with ``convert`` (a folder of
    the user's own images, ``cenet predict``: :func:`to_channels`), else refused with the fix (a
    public dataset's file, whose kind is known)."""
    array = eight_bit(read_array(path), path)
    if array.ndim == 2:
        array = array[..., None]
    if array.ndim != 3 or array.shape[2] > 4:
        raise DatasetError(f"{path}: expected one image (height x width x 1, 3 or 4 channels), found an array "
                           f"of shape {array.shape}; save each image as its own file.")
    if not convert and (array.shape[2] >= 3) != (channels == 3):
        kind = "RGB" if channels == 3 else "L"
        raise DatasetError(
            f"{path}: expected an image with {channels} channel(s), found {array.shape[2]}; this dataset's images are "
            f"{'colour' if channels == 3 else 'grey'}: restore the file, or convert it (Pillow: "
            f"Image.open(path).convert({kind!r}).save(path))."
        )
    return to_channels(array, channels)


def read_mask(path: Path) -> np.ndarray:
    """A binary mask as uint8 {0, 1}: any nonzero pixel is foreground (0/255 and 0/1 files alike)."""
    array = grey_mask(read_array(path), path)
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
