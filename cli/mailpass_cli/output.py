"""How listings and shows print: a table for people (tab-separated, header first; the
default), or with ``-o json`` / ``-o yaml`` the same records as data for scripts, dates
written as the API writes them (RFC 3339 in UTC with ``Z``), no value as null.

PyYAML comes with uvicorn's standard extras, which the services need anyway.
"""

from __future__ import annotations

import argparse
import json
from datetime import datetime
from enum import Enum
from typing import Any

import yaml

from mailpass_common.platform.dates import api_datetime

FORMATS = ("table", "json", "yaml")


def add_output_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-o",
        "--output",
        choices=FORMATS,
        default="table",
        help="table (default, for people), json or yaml (for scripts)",
    )


def plain(value: Any) -> Any:
    """``value`` with only JSON's types: dates as RFC 3339 strings, enums as their values."""
    if isinstance(value, datetime):
        return api_datetime(value)
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [plain(v) for v in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def structured(args: argparse.Namespace, data: Any) -> bool:
    """Prints ``data`` as JSON or YAML when ``-o`` asks for it and says so; False means
    the table was asked for, which the command prints itself."""
    output = getattr(args, "output", "table")
    if output == "table":
        return False
    if output == "json":
        print(json.dumps(plain(data), indent=2, ensure_ascii=False))
    else:
        print(yaml.safe_dump(plain(data), sort_keys=False, allow_unicode=True), end="")
    return True
