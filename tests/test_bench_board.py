"""The board backend's serial protocol, against pyserial's loop:// port replaying recorded lines."""

from __future__ import annotations

import pytest
import serial

from edgeser.benchmarks.board import BenchParser, parse_bench_lines, read_board_bench
from edgeser.benchmarks.latency import BenchError

# A benchmark build's output as the firmware prints it (serial_format.cc; "\r\n" line ends),
# with the lines around it that must be skipped.
RECORDED = [
    "INFO ready frames=150 keyword_frames=49 keyword_hop=25 decision_hop=50 stride_ms=20",
    '{"t_ms":3020,"emotion":"neutral","confidence":0.6100,"probs":[0.6100,0.1300,0.1200,0.1400]}',
    "BENCH begin version=1 board=coral-dev-board-micro cpu_mhz=800 arena=ocram arena_bytes=524288 decisions=20",
    "BENCH stage=frontend n=745 us=312 min_us=290 max_us=402 total_us=232440",
    "BENCH stage=keyword n=29 us=4210 min_us=4100 max_us=4388 total_us=122090",
    "BENCH stage=acoustic n=20 us=9876 min_us=9700 max_us=10102 total_us=197520",
    "BENCH stage=fusion n=20 us=410 min_us=400 max_us=455 total_us=8200",
    "BENCH stage=postprocess n=20 us=35 min_us=30 max_us=41 total_us=700",
    "BENCH stage=report n=20 us=180 min_us=170 max_us=220 total_us=3600",
    "BENCH stage=decision n=20 us=21950 min_us=21010 max_us=23020 total_us=439000",
    "BENCH end stages=7 decisions=20",
]


def _loop_with(lines: list[str]):
    port = serial.serial_for_url("loop://", timeout=0.05)
    port.write("".join(line + "\r\n" for line in lines).encode())
    return port


def test_loop_replay_parses_every_stage():
    port = _loop_with(RECORDED)
    try:
        b = read_board_bench(port, timeout_s=5)
    finally:
        port.close()
    assert b.header["board"] == "coral-dev-board-micro" and b.header["cpu_mhz"] == "800"
    assert [s.name for s in b.stages] == ["frontend", "keyword", "acoustic", "fusion", "postprocess", "report", "decision"]
    dec = b.stages[-1]
    assert (dec.n, dec.mean_us, dec.min_us, dec.max_us, dec.total_us) == (20, 21950, 21010, 23020, 439000)
    assert b.footer == {"stages": "7", "decisions": "20"}
    assert b.skipped_lines == 2


def test_command_is_sent_and_its_echo_skipped():
    port = _loop_with(RECORDED)
    try:
        b = read_board_bench(port, command="bench", timeout_s=5)
    finally:
        port.close()
    assert len(b.stages) == 7


def test_minimal_format_with_done_marker():
    b = parse_bench_lines(["BENCH stage=kws us=4000", "BENCH stage=acoustic us=9000", "BENCH done"])
    assert [(s.name, s.mean_us, s.n) for s in b.stages] == [("kws", 4000, None), ("acoustic", 9000, None)]


def test_error_line_and_lost_lines_are_reported():
    with pytest.raises(BenchError, match="reported an error.*model acoustic"):
        parse_bench_lines(["ERROR model acoustic: cannot read /models/acoustic.tflite"])
    with pytest.raises(BenchError, match="announced 7 BENCH stages but sent 6"):
        parse_bench_lines(RECORDED[:5] + RECORDED[6:])
    with pytest.raises(BenchError, match="no complete BENCH block"):
        parse_bench_lines(RECORDED[:-1])
    with pytest.raises(BenchError, match="not an integer"):
        BenchParser().feed("BENCH stage=frontend n=1 us=abc")


def test_truncated_block_times_out_with_partial_message():
    port = _loop_with(RECORDED[:4])
    try:
        with pytest.raises(BenchError, match="partial BENCH block within 0.3 s"):
            read_board_bench(port, timeout_s=0.3, name="serial device loop://")
    finally:
        port.close()


def test_agrees_with_the_firmware_reference_parser(repo_root):
    import importlib.util

    ref_path = repo_root / "firmware" / "tools" / "serial_protocol.py"
    if not ref_path.is_file():
        pytest.skip("firmware/tools/serial_protocol.py is not there")
    spec = importlib.util.spec_from_file_location("fw_serial_protocol", ref_path)
    ref = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(ref)
    theirs = ref.parse_bench([line + "\r\n" for line in RECORDED])
    ours = parse_bench_lines(RECORDED)
    assert list(theirs["stages"]) == [s.name for s in ours.stages]
    for s in ours.stages:
        t = theirs["stages"][s.name]
        assert (t["n"], t["us"], t["min_us"], t["max_us"], t["total_us"]) == (s.n, s.mean_us, s.min_us, s.max_us, s.total_us)
