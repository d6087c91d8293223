"""How many threads the OCR engine's inference uses (ocr.default_threads)."""

import pytest

from kakou.models.ocr import default_threads


def test_two_threads_at_most_unless_configured(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KAKOU_OCR_THREADS", raising=False)
    assert 1 <= default_threads() <= 2
    monkeypatch.setenv("KAKOU_OCR_THREADS", "4")
    assert default_threads() == 4
    monkeypatch.setenv("KAKOU_OCR_THREADS", "0")  # one per core, ONNX Runtime's own choice
    assert default_threads() == 0


@pytest.mark.parametrize("bad", ["two", "-1", "1.5"])
def test_a_bad_thread_count_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, bad: str) -> None:
    monkeypatch.setenv("KAKOU_OCR_THREADS", bad)
    with pytest.raises(ValueError, match="KAKOU_OCR_THREADS"):
        default_threads()
