"""The generated C header and JSON carry exactly the config's numbers."""

from __future__ import annotations

import dataclasses
import re

import pytest

from edgeser.frontend.config import PRESETS, FrontendConfig
from edgeser.frontend.export import (
    config_to_json,
    parse_c_header,
    render_c_header,
    write_c_header,
    write_json,
)
from edgeser.frontend.microfrontend import op_attributes

CONFIGS = {
    **PRESETS,
    "odd_floats": FrontendConfig(
        sample_rate=22050,
        window_ms=23,
        stride_ms=11,
        num_channels=33,
        lower_band_hz=123.456789,
        upper_band_hz=10000.1,
        even_smoothing=0.1 + 0.2,
        odd_smoothing=1e-05,
        min_signal_remaining=0.333333333333,
        pcan_strength=0.9876543210123,
        pcan_offset=79.99999999,
        int8_scale_num=3,
        int8_scale_den=7,
        int8_offset=5,
    ),
}


@pytest.mark.parametrize("name", list(CONFIGS))
def test_header_numbers_equal_config(name):
    config = CONFIGS[name]
    text = render_c_header(config)
    values = parse_c_header(text)
    for field in dataclasses.fields(config):
        value = getattr(config, field.name)
        parsed = values[field.name.upper()]
        if isinstance(value, bool):
            assert parsed == int(value), field.name
        else:
            assert parsed == value and type(parsed) is type(value), (field.name, parsed, value)
    assert values["WINDOW_SAMPLES"] == config.window_samples
    assert values["STRIDE_SAMPLES"] == config.stride_samples
    assert values["FFT_SIZE"] == config.fft_size
    assert values["SHA256"] == config.sha256()
    assert FrontendConfig.from_json(values["JSON"]) == config
    for key, value in op_attributes(config).items():
        assert values["C_" + key.upper()] == (int(value) if isinstance(value, bool) else value), key


def test_header_is_valid_c_shape():
    text = render_c_header(PRESETS["micro_speech"])
    assert text.count("#ifndef EDGESER_FRONTEND_CONFIG_H_") == 1
    assert "#define EDGESER_FRONTEND_CONFIG_H_" in text
    assert text.rstrip().endswith("#endif  /* EDGESER_FRONTEND_CONFIG_H_ */")
    names = re.findall(r"#define (EDGESER_FRONTEND_\w+) ", text)
    assert len(names) == len(set(names))
    for line in text.splitlines():
        if line.startswith("#define EDGESER_FRONTEND_") and "CONFIG_H_" not in line:
            assert re.match(r'#define EDGESER_FRONTEND_\w+ (-?[0-9][0-9.e+-]*|".*")(  /\* .* \*/)?$', line), line


def test_write_files_atomically(tmp_path):
    config = PRESETS["coralmicro"]
    header = write_c_header(config, tmp_path / "fw" / "frontend_config.h")
    assert header.read_text() == render_c_header(config)
    js = write_json(config, tmp_path / "frontend.json")
    assert FrontendConfig.from_json(js.read_text()) == config
    assert config_to_json(config) == config.to_json()
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["frontend.json", "frontend_config.h", "fw"]
