"""The texts of the SMS we send. Each stays near 70 characters (one SMS segment)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

CHINA = timezone(timedelta(hours=8), "Asia/Shanghai")


def signing_invitation(
    sign_name: str, sender: str, title: str, deadline: datetime, url: str
) -> str:
    due = deadline.astimezone(CHINA)
    return f"【{sign_name}】{sender}请您签署《{title}》，{due.month}月{due.day}日前有效：{url}"


def intent_code(sign_name: str, code: str, minutes: int) -> str:
    return f"【{sign_name}】您的签署验证码为{code}，{minutes}分钟内有效，请勿泄露给他人。"
