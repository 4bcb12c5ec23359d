"""Member-unit reporting: the Excel template, reading files, validation rules, the importer.

``template.write_template`` makes a unit's workbook; ``importer.import_file`` reads a filled
file (``read.read_file``), checks every row (``rules``) and stores it (``store``).
"""
from __future__ import annotations

from .importer import ImportResult, import_file, import_files, overall_exit_code
from .template import write_template

__all__ = ["ImportResult", "import_file", "import_files", "overall_exit_code", "write_template"]
