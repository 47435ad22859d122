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


def _deadline(deadline: datetime) -> str:
    due = deadline.astimezone(CHINA)
    return f"{due.month}月{due.day}日{due:%H:%M}"


def signing_reminder(sign_name: str, sender: str, title: str, deadline: datetime, url: str) -> str:
    return f"【{sign_name}】提醒：{sender}请您签署《{title}》，{_deadline(deadline)}截止：{url}"


def envelope_declined(sign_name: str, title: str, name: str, role: str) -> str:
    return f"【{sign_name}】《{title}》已被{name}（{role}）拒签，签署流程已终止，您无需继续操作。"


def envelope_voided(sign_name: str, sender: str, title: str) -> str:
    return f"【{sign_name}】{sender}已撤销《{title}》，原签署链接已失效，您无需继续操作。"


def member_login_code(sign_name: str, code: str, minutes: int) -> str:
    return f"【{sign_name}】您的登录验证码为{code}，{minutes}分钟内有效，请勿泄露给他人。"


def stamp_code(sign_name: str, code: str, count: int, minutes: int) -> str:
    return (
        f"【{sign_name}】您正在为{count}份合同加盖机构印章，验证码{code}，"
        f"{minutes}分钟内有效，请勿泄露。"
    )
