"""Structured logs: one JSON object per line with the request id, personal data masked."""

from __future__ import annotations

import contextvars
import json
import logging
import re
import sys
from datetime import UTC, datetime

request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")

# Safety net: mainland ID numbers, bank-card-like digit runs and mobile numbers never reach
# a log line in clear, even if a message or an exception text carries one by mistake.
_ID_NUMBER = re.compile(r"(?<!\d)(\d{6})\d{8}(\d{3}[\dXx])(?!\d)")
_LONG_DIGITS = re.compile(r"(?<!\d)(\d{4})\d{8,11}(\d{4})(?!\d)")
_MOBILE = re.compile(r"(?<!\d)(1[3-9]\d)\d{4}(\d{4})(?!\d)")


_SEVEN_DIGITS = re.compile(r"\d{7}")  # every pattern above holds a run of 7 digits


def mask_personal_data(text: str) -> str:
    if not _SEVEN_DIGITS.search(text):  # most lines (one per request): nothing to mask
        return text
    text = _ID_NUMBER.sub(r"\1********\2", text)
    text = _LONG_DIGITS.sub(r"\1********\2", text)
    return _MOBILE.sub(r"\1****\2", text)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "at": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "request_id": request_id_var.get(),
            "msg": mask_personal_data(record.getMessage()),
        }
        for key, value in getattr(record, "fields", {}).items():
            entry[key] = mask_personal_data(value) if isinstance(value, str) else value
        if record.exc_info:
            entry["exc"] = mask_personal_data(self.formatException(record.exc_info))
        return json.dumps(entry, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = f"{record.levelname[0]} [{request_id_var.get()}] {record.name}: "
        return mask_personal_data(line + super().format(record))


def configure_logging(level: str = "INFO", fmt: str = "json") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter("%(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("uvicorn.access", "aiosqlite", "fontTools", "weasyprint", "httpx"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def log_event(logger: logging.Logger, msg: str, **fields: object) -> None:
    logger.info(msg, extra={"fields": fields})
