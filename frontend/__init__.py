"""edgeser.frontend: MicroFrontend-matched log-mel features (see config.py)."""

from edgeser.frontend.config import PRESETS, FrontendConfig

__all__ = ["FrontendConfig", "PRESETS"]
