"""RunLogger: a tqdm bar with losses and it/s on a terminal, plain lines elsewhere, JSONL always."""

from __future__ import annotations

import io
import json

from ganforge.train.logs import RunLogger


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_terminal_gets_a_progress_bar_with_losses(tmp_path):
    stream = FakeTerminal()
    logger = RunLogger(tmp_path, total=10, start=0, tensorboard=False, stream=stream)
    for step in range(1, 4):
        logger.progress(step, {"loss_d": 0.5, "loss_g": 1.25})
    logger.scalars(3, {"loss_d": 0.5})
    logger.close()
    text = stream.getvalue()
    assert "3/10" in text and "loss_d=0.5" in text and "loss_g=1.25" in text and "step/s" in text
    assert "step 3/10" not in text  # no plain lines when a bar is shown


def test_plain_lines_when_not_a_terminal(tmp_path):
    stream = io.StringIO()
    logger = RunLogger(tmp_path, total=10, start=2, tensorboard=False, stream=stream)
    logger.scalars(4, {"loss_d": 0.25, "it_per_s": 3.0})
    logger.message("hello")
    logger.close()
    assert stream.getvalue().splitlines() == ["step 4/10 loss_d=0.25 it_per_s=3", "hello"]
    records = [json.loads(line) for line in (tmp_path / "log.jsonl").read_text().splitlines()]
    assert records == [{"step": 4, "loss_d": 0.25, "it_per_s": 3.0}]


def test_a_time_budget_shows_the_time_left_not_the_step_total(tmp_path, monkeypatch):
    monkeypatch.setattr("ganforge.train.logs.time.monotonic", lambda: 1000.0)
    stream = io.StringIO()
    logger = RunLogger(tmp_path, total=1_000_000, start=0, tensorboard=False, stream=stream, deadline=1125.4)
    logger.scalars(7, {"loss_d": 0.25})
    logger.close()
    assert stream.getvalue().splitlines() == ["step 7 (2:05 left) loss_d=0.25"]


def test_the_bar_under_a_time_budget_has_no_total_and_shows_the_time_left(tmp_path, monkeypatch):
    monkeypatch.setattr("ganforge.train.logs.time.monotonic", lambda: 1000.0)
    stream = FakeTerminal()
    logger = RunLogger(tmp_path, total=1_000_000, start=0, tensorboard=False, stream=stream, deadline=1061.0)
    logger.progress(3, {"loss_d": 0.5})
    logger.close()
    text = stream.getvalue()
    assert "left=1:01" in text and "1000000" not in text and "3step" in text.replace(" ", "")


class BrokenTracker:
    """A tracker whose store goes away after the first write (a server shut down mid-run)."""

    def __init__(self) -> None:
        self.calls: list[tuple] = []

    def scalars(self, step: int, values: dict[str, float]) -> None:
        self.calls.append(("scalars", step))
        if len(self.calls) > 1:
            raise ConnectionError("API request to http://localhost:5000 failed\nwith many lines")

    def sample_grid(self, path, step: int) -> None:
        self.calls.append(("sample_grid", step))

    def close(self, status: str = "FINISHED") -> None:
        self.calls.append(("close", status))


def test_a_failing_tracker_costs_one_warning_line_and_training_logs_go_on(tmp_path):
    stream, tracker = io.StringIO(), BrokenTracker()
    logger = RunLogger(tmp_path, total=10, start=0, tensorboard=False, stream=stream, tracker=tracker)
    logger.scalars(1, {"loss_d": 0.5})
    logger.sample_grid(tmp_path / "g.png", 1)
    for step in (2, 3):
        logger.scalars(step, {"loss_d": 0.5})
    logger.sample_grid(tmp_path / "g.png", 3)
    logger.close("FINISHED")
    assert tracker.calls == [("scalars", 1), ("sample_grid", 1), ("scalars", 2)]  # nothing after the failure
    warnings = [line for line in stream.getvalue().splitlines() if "warning" in line]
    assert warnings == ["ganforge: warning: could not write to the experiment tracker (API request to "
                        "http://localhost:5000 failed); training goes on without it until the next resume and "
                        "checkpoints are still written"]
    assert [json.loads(x)["step"] for x in (tmp_path / "log.jsonl").read_text().splitlines()] == [1, 2, 3]
