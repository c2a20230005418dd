"""Fashion-MNIST (Xiao et al. 2017): 70,000 Zalando article images, 1×28×28 uint8, 10 classes.

Source: the Debian package ``dataset-fashion-mnist``. If it is installed, its IDX files in
``/usr/share/datasets/fashion-mnist`` are used; otherwise ``apt-get download`` fetches the ``.deb``
without root, its sha256 is checked, and the four ``.gz`` IDX files are taken from its
``data.tar.xz`` into ``CACHE/fashion-mnist/`` and converted into the uint8 ``.npz`` cache.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

from ganforge.data.cache import dataset_dir, write_bytes_atomic
from ganforge.data.fetch import apt_download, deb_files, verify_bytes
from ganforge.data.idx import has_idx_files
from ganforge.data.idx_dataset import IdxDatasetSpec
from ganforge.data.spec import DATASETS


@dataclass(frozen=True)
class DebSource:
    """A pinned Debian package and the files to take from it."""

    package: str
    sha256: str
    files: tuple[str, ...]


IDX_FILES = (
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
)
FASHION_DEB = DebSource(
    package="dataset-fashion-mnist",
    sha256="39e172fe32dd318ebb3e512220c3beea2fa47d7e20bab348fb4e0922d6beefc0",
    files=IDX_FILES,
)
SYSTEM_DIR = Path("/usr/share/datasets/fashion-mnist")  # where `apt-get install` puts the files
CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
           "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")


@dataclass
class FashionMnistSpec(IdxDatasetSpec):
    """Fashion-MNIST: from the installed Debian package, a downloaded ``.deb``, or ``path``."""

    deb_source: DebSource = FASHION_DEB
    system_dir: Path = SYSTEM_DIR

    def download_into_cache(self) -> Path:
        """Make the ``.npz`` cache from the installed package's IDX files, or else a downloaded ``.deb``."""
        if has_idx_files(self.system_dir):
            return self.import_idx_dir(self.system_dir)
        with tempfile.TemporaryDirectory(prefix="ganforge-fashion-") as tmp:
            deb = apt_download(self.deb_source.package, Path(tmp))
            return self.fetch_from_deb(deb)

    def fetch_from_deb(self, deb: Path) -> Path:
        """Verify ``deb``, extract its IDX files into the cache folder and convert them; return the folder."""
        fix = f"delete it and run `{self.fetch_command(None)}` again"
        data = deb.read_bytes()
        verify_bytes(data, sha256=self.deb_source.sha256, source=str(deb), fix=fix)
        files = deb_files(data, set(self.deb_source.files), source=str(deb))
        folder = dataset_dir(self.name)
        for name, contents in files.items():
            write_bytes_atomic(folder / name, contents)
        return self.import_idx_dir(folder)


FASHION_MNIST = DATASETS.register(
    "fashion-mnist",
    FashionMnistSpec(
        name="fashion-mnist",
        description="Fashion-MNIST Zalando article images (Xiao et al. 2017), 28x28 grayscale, 10 classes",
        classes=CLASSES,
        shape=(1, 28, 28),
        split_sizes={"train": 60000, "test": 10000},
    ),
)
