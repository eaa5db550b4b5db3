"""The e-mail of a notice, and the ports that send it.

`compose` builds one message: Chinese plain text and HTML (multipart/alternative, UTF-8),
`Message-ID` (the delivery's own, the same on every retry so a receiver can drop a
duplicate), `Date`, `From`, `To`, `Subject`, `List-Id`, `List-Unsubscribe` with the signed
link and `List-Unsubscribe-Post: List-Unsubscribe=One-Click` (RFC 8058; a confirmation
mail has no list headers: the reader is not on a list yet), `Auto-Submitted: auto-generated`
(RFC 3834) so out-of-office replies stay away.

Mailers: `SmtpMailer` (aiosmtplib, a real SMTP client) when GONGKAI_SMTP_HOST is set;
`FileOutbox` (one .eml file per message under var/subscriptions/outbox/) in embedded mode
without it, so `make run` shows what would have been sent. A mailer raises `SendFailed`
with `permanent` set for a 5xx refusal; everything else is worth another attempt.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime
from html import escape
from pathlib import Path
from typing import Protocol

import aiosmtplib

from services.subscriptions import events as ev
from shared.cn_dates import cn_date

LIST_ID = "政务公开订阅 <subscriptions.gongkai.invalid>"


class SendFailed(Exception):
    def __init__(self, error: str, permanent: bool) -> None:
        super().__init__(error)
        self.error = error
        self.permanent = permanent


class Mailer(Protocol):
    async def send(self, message: EmailMessage) -> None: ...


@dataclass(frozen=True)
class Links:
    confirm: str | None
    unsubscribe: str
    manage: str


def compose(
    notice: ev.NoticeQueued, to: str, sender: str, links: Links, now: datetime
) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = f"政务公开订阅 <{sender}>"
    msg["To"] = to
    msg["Subject"] = notice.subject
    msg["Date"] = format_datetime(now)
    msg["Message-ID"] = notice.message_id
    msg["Auto-Submitted"] = "auto-generated"
    if notice.kind is not ev.NoticeKind.confirmation:
        msg["List-Id"] = LIST_ID
        msg["List-Unsubscribe"] = f"<{links.unsubscribe}>"
        msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    text, html = _bodies(notice, links)
    msg.set_content(text, charset="utf-8")
    msg.add_alternative(html, subtype="html", charset="utf-8")
    return msg


def _bodies(notice: ev.NoticeQueued, links: Links) -> tuple[str, str]:
    if notice.kind is ev.NoticeKind.confirmation:
        assert links.confirm is not None
        lines = [
            "您好：",
            "",
            "有人用这个邮箱订阅了政府信息公开的更新提醒。如果是您本人，请打开下面的链接确认订阅：",
            links.confirm,
            "",
            "确认之前我们不会再给您发邮件。如果不是您本人订阅，请忽略这封邮件。",
            "确认链接3天内有效。",
        ]
        html_lines = [
            "<p>您好：</p>",
            "<p>有人用这个邮箱订阅了政府信息公开的更新提醒。如果是您本人，请点击下面的按钮确认订阅：</p>",
            f'<p><a href="{escape(links.confirm)}">确认订阅</a></p>',
            "<p>确认之前我们不会再给您发邮件。如果不是您本人订阅，请忽略这封邮件。确认链接3天内有效。</p>",
        ]
    else:
        what = "政策解读" if notice.kind is ev.NoticeKind.interpretation else "新发布的政府信息"
        lines = [
            "您好：",
            "",
            f"您订阅的{what}：",
            f"《{notice.title}》",
            *([notice.summary] if notice.summary else []),
            f"全文：{notice.url}",
            "",
            f"发布时间：{cn_date(notice.queued_at)}",
        ]
        html_lines = [
            "<p>您好：</p>",
            f"<p>您订阅的{what}：</p>",
            f'<p><a href="{escape(notice.url or "")}">《{escape(notice.title or "")}》</a></p>',
            *([f"<p>{escape(notice.summary)}</p>"] if notice.summary else []),
            f"<p>发布时间：{cn_date(notice.queued_at)}</p>",
        ]
    footer = [
        "",
        "——",
        "这是系统自动发送的邮件，请勿直接回复。",
        f"不想再收到这类邮件？一键退订：{links.unsubscribe}",
        f"修改订阅：{links.manage}",
    ]
    html_footer = [
        "<hr>",
        "<p>这是系统自动发送的邮件，请勿直接回复。</p>",
        f'<p><a href="{escape(links.unsubscribe)}">退订</a> · '
        f'<a href="{escape(links.manage)}">修改订阅</a></p>',
    ]
    text = "\n".join([*lines, *footer]) + "\n"
    html = (
        '<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">'
        f"<title>{escape(notice.subject)}</title></head><body>"
        + "".join([*html_lines, *html_footer])
        + "</body></html>"
    )
    return text, html


@dataclass(frozen=True)
class SmtpMailer:
    """aiosmtplib against the configured server (STARTTLS or implicit TLS as configured)."""

    host: str
    port: int
    sender: str
    username: str | None = None
    password: str | None = None
    starttls: bool = False
    tls: bool = False
    timeout: float = 20.0

    async def send(self, message: EmailMessage) -> None:
        try:
            await aiosmtplib.send(
                message,
                sender=self.sender,
                hostname=self.host,
                port=self.port,
                username=self.username,
                password=self.password,
                start_tls=self.starttls,
                use_tls=self.tls,
                timeout=self.timeout,
            )
        except aiosmtplib.SMTPResponseException as exc:
            raise SendFailed(f"SMTP {exc.code}", permanent=500 <= exc.code < 600) from None
        except aiosmtplib.SMTPRecipientsRefused as exc:
            codes = sorted({r.code for r in exc.recipients})
            permanent = all(500 <= c < 600 for c in codes)
            raise SendFailed(f"SMTP recipients refused {codes}", permanent) from None
        except (TimeoutError, aiosmtplib.SMTPException, OSError) as exc:
            raise SendFailed(type(exc).__name__, permanent=False) from None


@dataclass(frozen=True)
class FileOutbox:
    """Embedded mode without a mail server: each message as `<delivery>.eml` in `folder`."""

    folder: Path

    async def send(self, message: EmailMessage) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        name = str(message["Message-ID"]).strip("<>").split("@")[0]
        path = self.folder / f"{name}.eml"
        await asyncio.to_thread(path.write_bytes, bytes(message))
