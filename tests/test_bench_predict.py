"""The predicted-latency model: deterministic, monotone in MACs, calibrated as documented."""

from __future__ import annotations

import pytest

from edgeser.benchmarks import predict as P


def test_edgetpu_time_is_monotone_in_macs_and_params():
    link = P.DEV_BOARD_MICRO
    macs = [0, 1e6, 1e7, 1e8, 1e9]
    t = [P.edgetpu_ms(m, 1e6, 4000, link)["total_ms"] for m in macs]
    assert t == sorted(t) and len(set(t)) == len(t)
    # parameters inside the 8 MB cache cost nothing extra; beyond it they stream every invoke
    inside = P.edgetpu_ms(1e8, P.EDGETPU_CACHE_BYTES, 0, link)
    beyond = P.edgetpu_ms(1e8, P.EDGETPU_CACHE_BYTES + 4e6, 0, link)
    assert inside["param_stream_ms"] == 0
    assert beyond["param_stream_ms"] == pytest.approx(1e3 * 4e6 / link.bytes_per_s)
    assert P.edgetpu_ms(1e8, 0, 1e6, link)["transfer_ms"] > P.edgetpu_ms(1e8, 0, 1e3, link)["transfer_ms"]


def test_m7_cycles_monotone_in_macs():
    ops = [P.OpCost(0, "CONV_2D", m, 100, 0) for m in (0, 10, 1000, 10**6)]
    c = [P.m7_cycles(o) for o in ops]
    assert c == sorted(c) and c[0] >= P.M7_OP_OVERHEAD_CYCLES


def test_usb2_board_link_is_slower_than_usb3_desktop():
    for ref in P.CALIBRATION_POINTS:
        assert P.reference_ms(ref, P.DEV_BOARD_MICRO) > P.reference_ms(ref, P.USB3_DESKTOP)


def test_calibration_constants_are_the_fit_and_close_to_published():
    fit = P.fit_calibration()
    assert fit["efficiency"] == pytest.approx(P.EDGETPU_EFFICIENCY, abs=0.006)
    assert fit["invoke_ms"] == pytest.approx(P.EDGETPU_INVOKE_MS, abs=0.011)
    assert fit["usb3_bytes_per_s"] == pytest.approx(P.USB3_BYTES_PER_S, rel=0.02)
    rows = P.calibration_table()
    assert P.calibration_table() == rows  # deterministic
    for row in rows:
        assert 0.6 < row["ratio"] < 1.4, row  # every published point within 40 %
