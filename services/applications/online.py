"""网上申请 (online information requests from the public), the pure part.

An online request is received on the day both sides confirm (条例 Art. 31(3)), so a
submission from the portal is not yet a registered request: it is recorded as
`OnlineRequestSubmitted` and becomes a request (RequestRegistered, channel online,
received_on = the confirmation day) when the office confirms it. The applicant follows it
with a tracking code and a query password, both shown once; the log keeps only their
hashes (decision 111).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import unicodedata
from datetime import date
from typing import Any
from uuid import UUID

from services.applications.commands import RegisterRequest, SubmitOnlineRequest
from services.applications.events import (
    ApplicantKind,
    Channel,
    DeliveryChannel,
    OnlineRequestSubmitted,
)
from shared.errors import DomainRuleViolated, ValidationFailed

#: No 0/O, 1/I/L: a code read aloud on the telephone or copied by hand stays right.
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LENGTH = 12
PASSWORD_DIGITS = 8
#: scrypt cost (RFC 7914): 16 MiB and ~50 ms a try, so the 10^8 passwords of one stored hash
#: cost years of a core to try; online guessing meets the rate limits first.
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
#: Compared against when the code is unknown, so an unknown code costs the same time as a
#: wrong password and the two answers cannot be told apart.
_DUMMY_SALT = b"gongkai-online-request-dummy-salt"


def new_tracking_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def new_query_password() -> str:
    return "".join(secrets.choice("0123456789") for _ in range(PASSWORD_DIGITS))


def normal(text: str) -> str:
    """As typed back: full-width forms folded, spaces and dashes dropped, upper case."""
    folded = unicodedata.normalize("NFKC", text)
    return "".join(ch for ch in folded if ch not in " -\t\u3000").upper()


def hash_code(code: str) -> str:
    return hashlib.sha256(normal(code).encode()).hexdigest()


def _scrypt(password: str, salt: bytes) -> bytes:
    return hashlib.scrypt(
        normal(password).encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, dklen=32
    )


def hash_password(password: str, salt: bytes | None = None) -> str:
    salt = salt if salt is not None else secrets.token_bytes(16)
    digest = _scrypt(password, salt)
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${salt.hex()}${digest.hex()}"


def verify_password(password: str, stored: str | None) -> bool:
    """True only for a stored hash of this password; the same work when `stored` is None."""
    if stored is None:
        _scrypt(password, _DUMMY_SALT)
        return False
    try:
        _, n, r, p, salt, digest = stored.split("$")
        assert (int(n), int(r), int(p)) == (SCRYPT_N, SCRYPT_R, SCRYPT_P)
        expected = bytes.fromhex(digest)
        got = _scrypt(password, bytes.fromhex(salt))
    except (ValueError, AssertionError):
        return False
    return hmac.compare_digest(got, expected)


def _invalid(rule: str, field: str, zh: str, en: str) -> ValidationFailed:
    return ValidationFailed(rule=rule, field=field, message_zh=zh, message_en=en)


def check(cmd: SubmitOnlineRequest) -> None:
    """What Art. 29 and the chosen delivery need beyond the model's own limits."""
    a = cmd.applicant
    if a.kind is ApplicantKind.organization and a.organization_kind is None:
        raise _invalid(
            "applicant.organization_kind_required",
            "applicant.organization_kind",
            "法人或者其他组织请选择组织类别",
            "an organization applicant needs its kind",
        )
    if a.kind is ApplicantKind.natural_person and a.organization_kind is not None:
        raise _invalid(
            "applicant.organization_kind_forbidden",
            "applicant.organization_kind",
            "公民申请不填写组织类别",
            "a natural person has no organization kind",
        )
    if cmd.delivery_channel is DeliveryChannel.post and not a.address:
        raise _invalid(
            "applicant.address_required",
            "applicant.address",
            "选择邮寄的，请填写通信地址",
            "delivery by post needs a postal address",
        )
    if cmd.delivery_channel is DeliveryChannel.email and not a.email:
        raise _invalid(
            "applicant.email_required",
            "applicant.email",
            "选择电子邮件的，请填写电子邮箱",
            "delivery by e-mail needs an e-mail address",
        )
    if a.email and ("@" not in a.email or a.email.startswith("@") or a.email.endswith("@")):
        raise _invalid(
            "applicant.email_format",
            "applicant.email",
            "电子邮箱格式不对，应如 name@example.cn",
            "not an e-mail address",
        )


def submit(
    cmd: SubmitOnlineRequest,
    *,
    submission_id: UUID,
    tracking_code: str,
    query_password: str,
    today: date,
) -> OnlineRequestSubmitted:
    check(cmd)
    return OnlineRequestSubmitted(
        submission_id=submission_id,
        tracking_code_hash=hash_code(tracking_code),
        query_password_hash=hash_password(query_password),
        submitted_on=today,
        applicant=cmd.applicant,
        description=cmd.description,
        requested_form=cmd.requested_form,
        delivery_channel=cmd.delivery_channel,
    )


def registration(
    submitted: dict[str, Any] | None, confirmed: bool, tenant: str, confirmed_on: date
) -> RegisterRequest:
    """The registration a confirmation makes of a submission (its payload)."""
    if submitted is None:
        raise DomainRuleViolated(
            rule="online_request.unknown",
            field="submission_id",
            message_zh="没有这份网上申请",
            message_en="no such online request",
        )
    if confirmed:
        raise DomainRuleViolated(
            rule="online_request.already_confirmed",
            field="submission_id",
            message_zh="这份网上申请已经确认收到并登记",
            message_en="this online request was already confirmed",
        )
    return RegisterRequest(
        tenant=tenant,
        channel=Channel.online,
        submitted_on=submitted["submitted_on"],
        confirmed_on=confirmed_on,
        applicant=submitted["applicant"],
        description=submitted["description"],
        requested_form=submitted["requested_form"],
        delivery_channel=submitted["delivery_channel"],
    )


#: The request's status in the applicant's words, and what happens next.
STATUS_WORDS: dict[str, tuple[str, str]] = {
    "submitted": (
        "已提交，待确认收到",
        "本机关确认收到后开始计算答复期限（条例第三十一条第三项），一般在下一个工作日内确认。",
    ),
    "registered": ("已受理", "本机关正在办理，将在答复期限内答复您。"),
    "assigned": ("办理中", "承办人正在办理，将在答复期限内答复您。"),
    "awaiting_correction": (
        "待补正",
        "本机关已告知需要补正的内容，请按补正告知书补正；答复期限自收到补正之日起重新计算"
        "（条例第三十条）。",
    ),
    "awaiting_payment": (
        "待缴纳信息处理费",
        "请按收费通知缴费；缴费期间不计算答复期限。",
    ),
    "consulting": (
        "征求第三方意见中",
        "征求意见所需时间不计算在答复期限内（条例第三十二条）。",
    ),
    "replied": ("已答复", "答复已按您选择的途径送达；如有疑问请联系本机关。"),
    "abandoned": ("视为放弃申请", "逾期未补正，视为放弃申请（条例第三十条）。"),
    "fee_lapsed": ("视为放弃申请", "逾期未缴纳信息处理费，视为放弃申请。"),
    "withdrawn": ("已撤回", "您已撤回申请。"),
    "archived": ("已办结归档", "申请已办结。"),
}


def public_status(row: dict[str, Any]) -> dict[str, Any]:
    """What the applicant may see: status, dates and the reply's kind; no personal data."""
    status = str(row.get("status") or "submitted")
    words, next_step = STATUS_WORDS.get(status, (status, ""))
    return {
        "status": status,
        "status_zh": words,
        "what_next": next_step,
        "submitted_on": row["submitted_on"],
        "number": row.get("number"),
        "received_on": row.get("received_on"),
        "reply_due": row.get("reply_due"),
        "due_provisional": bool(row.get("due_provisional")),
        "concluded_on": row.get("concluded_on"),
        "reply_type": row.get("reply_type"),
    }
