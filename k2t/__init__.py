"""k2t: translate Keras training scripts into standalone PyTorch scripts.

The library never imports torch or tensorflow; only ``k2t.parity`` does.
"""

from .api import ConversionResult, check_source, convert_file, convert_source
from .diagnostics import Diagnostic, Severity

__all__ = ["ConversionResult", "Diagnostic", "Severity", "check_source", "convert_file", "convert_source"]
__version__ = "0.1.0"
