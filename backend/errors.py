"""One error shape for the API and the pages: Chinese first, English available."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class FieldProblem:
    path: str
    message: str
    message_en: str


@dataclass
class AppError(Exception):
    """An error a person can act on. Never carries internal detail."""

    code: str
    message: str
    message_en: str
    status_code: int = 400
    fields: list[FieldProblem] = field(default_factory=list)

    def __post_init__(self) -> None:
        super().__init__(self.code)

    def to_json(self) -> dict[str, object]:
        body: dict[str, object] = {
            "code": self.code,
            "message": self.message,
            "message_en": self.message_en,
        }
        if self.fields:
            body["fields"] = [
                {"path": f.path, "message": f.message, "message_en": f.message_en}
                for f in self.fields
            ]
        return {"error": body}


def validation_error(problems: list[FieldProblem]) -> AppError:
    return AppError(
        code="validation_failed",
        message="请求内容有误，请按字段提示修改后重试。",
        message_en="The request has invalid fields; fix them and try again.",
        fields=problems,
    )
