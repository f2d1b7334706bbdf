"""Kept so imports of ``sattn_dash.training.atomic`` still work; the writes live in
``sattn_dash.files`` (the base layer). Import ``sattn_dash.files`` in new code."""

from sattn_dash.files import (  # noqa: F401
    dumps,
    json_safe,
    read_json,
    write_dir,
    write_json,
    write_stream,
    write_text,
    write_with,
)
