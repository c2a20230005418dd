"""MLflow tracking of a training run: the optional extra ``pip install 'ganforge[mlflow]'``.

With ``train.log_to`` naming ``mlflow``, :class:`MlflowTracker` is one more sink of
:class:`~ganforge.train.logs.RunLogger` (rank 0 only, like every log). At the start it logs the run's resolved
config as flattened params (``model.name``, ``train.batch_size``, ...); at each logged step the scalars of that
step's ``RUN/log.jsonl`` record, with the step; at each sample step the PNG grid as the artifact
``samples/<step>.png``; at the end the MLflow run's status: FINISHED (also at the end of a time budget), KILLED
after SIGINT/SIGTERM, FAILED after an error.

Where: ``train.mlflow_uri`` (a server ``http://host:5000``, ``sqlite:///path/mlflow.db``, ...); by default
``sqlite:///RUN/mlflow.db`` with artifacts in ``RUN/mlartifacts``, so a run folder holds its own tracking data
(``mlflow ui --backend-store-uri sqlite:///RUN/mlflow.db`` shows it). SQLite, not MLflow's file store: MLflow 3
refuses the file store unless ``MLFLOW_ALLOW_FILE_STORE=true`` is set and points users to SQLite. The experiment
is ``train.mlflow_experiment``, by default the model's name.

Resume: the MLflow run's id is kept in ``RUN/mlflow_run.json``; a session restored from a checkpoint continues
that MLflow run when ``train.mlflow_uri`` is unchanged and the store still holds it, and starts a new one
otherwise. MLflow cannot delete metric points, so steps an interrupted session logged after its last checkpoint
are logged again by the resumed session (two points at those steps).

mlflow is imported here only, and only when the sink is used; without it :func:`require_mlflow` raises one line.
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
from pathlib import Path
from typing import Any

from ganforge.config import Config, to_dict
from ganforge.data.cache import write_bytes_atomic
from ganforge.errors import ConfigError

RUN_ID_FILE = "mlflow_run.json"
MISSING = "train.log_to includes 'mlflow' but MLflow is not installed; pip install 'ganforge[mlflow]'"
PARAMS_PER_BATCH = 100  # MLflow's limit on params in one log_batch call


def require_mlflow() -> Any:
    """The ``mlflow`` module; ConfigError (one line, the install command) when the extra is not installed."""
    try:
        import mlflow
    except ImportError:
        raise ConfigError(MISSING) from None
    return mlflow


def tracking_uri(cfg: Config, run_dir: Path) -> str:
    """``train.mlflow_uri``, or the run folder's own SQLite store ``sqlite:///RUN/mlflow.db``."""
    return cfg.train.mlflow_uri or f"sqlite:///{(Path(run_dir) / 'mlflow.db').resolve()}"


def flat_params(data: dict, prefix: str = "") -> dict[str, str]:
    """A nested config dict as MLflow params: dotted keys, values as YAML would read them (``64``, ``true``,
    ``null``, ``[0.5, 0.9]``; strings as they are)."""
    out: dict[str, str] = {}
    for key, value in data.items():
        if isinstance(value, dict):
            out.update(flat_params(value, f"{prefix}{key}."))
        else:
            out[prefix + key] = value if isinstance(value, str) else json.dumps(value)
    return out


def first_line(exc: BaseException, limit: int = 200) -> str:
    """An exception's first line, shortened: MLflow's messages can run to many lines."""
    text = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    return text if len(text) <= limit else text[: limit - 3] + "..."


@contextlib.contextmanager
def _quiet_store_setup():
    """Silence the INFO lines MLflow prints while it creates or upgrades a SQLite store's tables."""
    loggers = [logging.getLogger(name) for name in ("mlflow.store.db.utils", "alembic")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.WARNING)
    try:
        yield
    finally:
        for lg, level in zip(loggers, levels, strict=True):
            lg.setLevel(level)


class MlflowTracker:
    """One MLflow run fed by a training run: params once, scalars per logged step, grids per sample step.

    Args:
        cfg: the session's config (choices left to the data made), logged as params.
        run_dir: the run folder (``RUN/mlflow_run.json``; the default store).
        resumed: this session was restored from a checkpoint: continue the recorded MLflow run if possible.

    Raises:
        ConfigError: MLflow is not installed, or the store cannot be opened or written (one line naming
            ``train.mlflow_uri``).
    """

    def __init__(self, cfg: Config, run_dir: Path, *, resumed: bool) -> None:
        require_mlflow()
        from mlflow.entities import Metric, Param
        from mlflow.tracking import MlflowClient

        self.run_dir, self.uri = Path(run_dir), tracking_uri(cfg, run_dir)
        self._metric, self._param = Metric, Param
        try:
            with _quiet_store_setup():
                self.client = MlflowClient(self.uri)
                self.run_id = self._continued(cfg) if resumed else None
                if self.run_id is None:
                    self.run_id = self._new_run(cfg)
            self._record(cfg)
        except ConfigError:
            raise
        except Exception as exc:  # any failure of the store (a bad URI, a server down) is one line
            raise ConfigError(f"cannot start an MLflow run in {self.uri} ({first_line(exc)}); fix train.mlflow_uri "
                              "or drop mlflow from train.log_to") from exc

    def _continued(self, cfg: Config) -> str | None:
        """The recorded MLflow run's id, marked RUNNING again, if it is in this store; else None."""
        try:
            record = json.loads((self.run_dir / RUN_ID_FILE).read_text())
        except (OSError, ValueError):
            return None
        if not isinstance(record, dict) or record.get("mlflow_uri") != cfg.train.mlflow_uri:
            return None
        run_id = record.get("run_id")
        try:
            self.client.get_run(run_id)
        except Exception:  # deleted, or never in this store: start a new run
            return None
        self.client.update_run(run_id, status="RUNNING")
        return run_id

    def _new_run(self, cfg: Config) -> str:
        """Create the MLflow run (and its experiment if needed) and log the config as params."""
        name = cfg.train.mlflow_experiment or cfg.model.name
        experiment = self.client.get_experiment_by_name(name)
        if experiment is not None:
            experiment_id = experiment.experiment_id
        else:  # the default store keeps its artifacts in the run folder too
            where = None if cfg.train.mlflow_uri else (self.run_dir / "mlartifacts").resolve().as_uri()
            experiment_id = self.client.create_experiment(name, artifact_location=where)
        run = self.client.create_run(experiment_id, run_name=self.run_dir.name,
                                     tags={"ganforge.run_dir": str(self.run_dir.resolve())})
        params = [self._param(k, v) for k, v in flat_params(to_dict(cfg)).items()]
        for i in range(0, len(params), PARAMS_PER_BATCH):
            self.client.log_batch(run.info.run_id, params=params[i:i + PARAMS_PER_BATCH])
        return run.info.run_id

    def _record(self, cfg: Config) -> None:
        """Write ``RUN/mlflow_run.json`` (atomically) so a resume finds this MLflow run."""
        record = {"mlflow_uri": cfg.train.mlflow_uri, "tracking_uri": self.uri, "run_id": self.run_id}
        write_bytes_atomic(self.run_dir / RUN_ID_FILE, (json.dumps(record, indent=2) + "\n").encode())

    def scalars(self, step: int, values: dict[str, float]) -> None:
        """Log ``values`` at generator step ``step``."""
        now = int(time.time() * 1000)
        metrics = [self._metric(key, float(value), now, step) for key, value in values.items()]
        self.client.log_batch(self.run_id, metrics=metrics)

    def sample_grid(self, path: Path, step: int) -> None:
        """Log the PNG at ``path`` (``samples/<step>.png`` in the run folder) as the artifact ``samples/<name>``."""
        self.client.log_artifact(self.run_id, str(path), artifact_path="samples")

    def close(self, status: str = "FINISHED") -> None:
        """End the MLflow run with ``status``: FINISHED, KILLED or FAILED."""
        self.client.set_terminated(self.run_id, status=status)
