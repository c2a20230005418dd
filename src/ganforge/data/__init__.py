"""The data layer: registered datasets, fetched once into a verified cache, loaded as float tensors.

Public API::

    load_dataset(name, split="train", *, path=None, pixel_range=(-1.0, 1.0), val_size=0, seed=0,
                 image_size=None, grayscale=None, n=None) -> LabeledData
    load_data_split(data_config, split, *, seed=0, val_size=0) -> LabeledData  (a config's data section)
    dataset_info(name, *, path=None) -> dict
    fetch_dataset(name, *, path=None) -> pathlib.Path
    data_cache_dir() -> pathlib.Path
    DATASETS: Registry[DatasetSpec]

Importing this package registers the datasets; it reads no data and downloads nothing.
"""

from __future__ import annotations

from ganforge.data import cifar10, fashion_mnist, imagefolder, mnist, npz, svhn, toy  # noqa: F401  (register)
from ganforge.data.cache import data_cache_dir
from ganforge.data.catalog import dataset_info, fetch_dataset, load_data_split, load_dataset
from ganforge.data.labeled import LabeledData
from ganforge.data.spec import DATASETS, DatasetSpec
from ganforge.data.toy import toy_mode_centers
from ganforge.data.transforms import scale_uint8, to_uint8

__all__ = [
    "DATASETS",
    "DatasetSpec",
    "LabeledData",
    "data_cache_dir",
    "dataset_info",
    "fetch_dataset",
    "load_data_split",
    "load_dataset",
    "scale_uint8",
    "to_uint8",
    "toy_mode_centers",
]
