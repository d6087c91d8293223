from kakou.bench.propagation import measure_propagation


def test_every_subscriber_receives_the_control_order_signed_and_verified() -> None:
    # Each simulated edge counts the order only once its Ed25519 signature verified against central's key.
    result = measure_propagation(20, timeout=20)
    assert (result.received, result.rejected) == (20, 0)
    assert result.p99_ms is not None and result.p99_ms < 20_000
