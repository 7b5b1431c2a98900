"""The PyTorch view of a reader: augmented, resized, normalised tensors, and the order of each
epoch's batches, reproducible from a seed."""
from __future__ import annotations

import numpy as np
import torch
from torch.utils.data import Dataset, Sampler

from .base import Reader
from .policy import InputPolicy, as_policy
from .transforms import NETWORK_SIZE, Augmentation, normalize


class SegmentationDataset(Dataset):
    """Wraps a :class:`~cenet_lib.data.base.Reader` for training or evaluation.

    Each item is a dict: ``image`` float32 (C, H, W) normalised, ``mask`` int64 (H, W) (zeros where
    the labels are private), ``roi`` bool (H, W) (all true without a region), ``index`` and ``id``.
    The augmentation, then the input ``policy`` (a resize to a size, or a random crop:
    :class:`~cenet_lib.data.policy.InputPolicy`; a (height, width) means resizing to it, ``None``
    keeps the image as it is) give the network its view. The random draws for an item depend only
    on (``seed``, epoch, index), so a run is reproducible whatever the number of loader workers;
    call :meth:`set_epoch` at the start of each epoch. ``cache=True`` keeps decoded samples in
    memory (the datasets of the paper are small), so each file is decoded once per process.
    """

    def __init__(
        self,
        reader: Reader,
        policy: InputPolicy | tuple[int, int] | None = NETWORK_SIZE,
        augmentation: Augmentation | None = None,
        seed: int = 0,
        cache: bool = True,
    ) -> None:
        self.reader = reader
        self.policy = None if policy is None else as_policy(policy)
        self.augmentation = augmentation
        self.seed = seed
        self.epoch = 0
        self.cache = cache
        self._cached: dict[int, object] = {}

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.reader)

    def _sample(self, index: int):
        if not self.cache:
            return self.reader[index]
        if index not in self._cached:
            self._cached[index] = self.reader[index]
        return self._cached[index]

    def __getitem__(self, key: int | tuple[int, int]) -> dict:
        """Item ``key``: an index (augmented for the epoch set by :meth:`set_epoch`) or an
        (index, epoch) pair, which a sampler can pass to loader workers that hold their own copy."""
        index, epoch = key if isinstance(key, tuple) else (key, self.epoch)
        sample = self._sample(index)
        rng = np.random.default_rng([self.seed, epoch, index])
        if self.augmentation is not None:
            sample = self.augmentation(sample, rng)
        image, mask, roi = sample.image, sample.mask, sample.roi
        if mask is None:
            mask = np.zeros(image.shape[:2], np.uint8)
        if roi is None:
            roi = np.ones(image.shape[:2], bool)
        if self.policy is not None:
            image, mask, roi = self.policy.training_view(image, mask, roi, rng)
        return {
            "image": torch.from_numpy(normalize(image).transpose(2, 0, 1).copy()),
            "mask": torch.from_numpy(mask.astype(np.int64)),
            "roi": torch.from_numpy(roi),
            "index": index,
            "id": sample.id,
        }


class EpochBatches(Sampler):
    """Batches of (index, epoch) pairs: the epoch's order drawn from (seed, epoch), starting after
    ``skip`` batches when a run resumes mid-epoch. Under torchrun ``batch_size`` is per process: each
    step takes ``batch_size x world_size`` images and each process its own share of them."""

    def __init__(self, size: int, batch_size: int, seed: int, rank: int = 0, world_size: int = 1) -> None:
        self.size, self.batch_size, self.seed = size, batch_size, seed
        self.rank, self.world_size = rank, world_size
        self.epoch, self.skip = 0, 0

    def batches(self, epoch: int) -> list[list[int]]:
        order = np.random.default_rng([self.seed, epoch]).permutation(self.size).tolist()
        per_step = self.batch_size * self.world_size
        steps = [order[i : i + per_step] for i in range(0, len(order), per_step)]
        return [step[self.rank :: self.world_size] for step in steps if step[self.rank :: self.world_size]]

    def __len__(self) -> int:
        return len(self.batches(self.epoch)) - self.skip

    def __iter__(self):
        for batch in self.batches(self.epoch)[self.skip :]:
            yield [(index, self.epoch) for index in batch]
