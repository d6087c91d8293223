from kakou.bench.backlog import measure_backlog_drain


def test_backlog_drain_stores_every_queued_pass_and_reports_a_rate() -> None:
    # measure_backlog_drain raises unless exactly n passes end up stored at central.
    assert measure_backlog_drain(2000, timeout=60) > 100
