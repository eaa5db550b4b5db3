"""The privacy guard: personal data in a text, found before it is published (DOMAIN.md §1).

方案§8 (更加注重个人隐私保护) and 条例 Art. 15: publication is blocked while a revision
holds unredacted personal data, unless a reviewer records a justification. Pure functions:
check digits (GB 11643-1999 for 居民身份证号, Luhn for bank cards), a scan that returns
findings with a mask and a fingerprint (never the value), and a length-preserving redaction.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable, Mapping
from datetime import date

from services.catalog.events import FindingKind, PrivacyFinding

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"

_RESIDENT_ID = re.compile(r"(?<![0-9A-Za-z])[1-9]\d{16}[0-9Xx](?![0-9A-Za-z])")
_LEGACY_ID = re.compile(r"(?<![0-9A-Za-z])[1-9]\d{14}(?![0-9A-Za-z])")
_MOBILE = re.compile(r"(?<![0-9A-Za-z])(?:\+?86[- ]?)?1[3-9]\d[- ]?\d{4}[- ]?\d{4}(?![0-9A-Za-z])")
_CARD = re.compile(r"(?<![0-9A-Za-z])\d(?:[ -]?\d){15,18}(?![0-9A-Za-z])")
_EMAIL = re.compile(
    r"(?<![0-9A-Za-z._%+-])[A-Za-z0-9][A-Za-z0-9._%+-]*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*"
    r"\.[A-Za-z]{2,}(?![A-Za-z0-9])"
)
#: 中华人民共和国普通护照: E + 8 digits or E + a letter (not I, O) + 7 digits (since 2012),
#: G + 8 digits (before). Official passports (D, S, P …) are the state's, not personal.
#: Only after the word 护照 / passport (within PASSPORT_CONTEXT characters): the bare shape
#: is also that of codes such as G20190312.
_PASSPORT = re.compile(r"(?<![0-9A-Za-z])(?:[EG]\d{8}|E[A-HJ-NP-Z]\d{7})(?![0-9A-Za-z])")
_PASSPORT_WORD = re.compile(r"护照|passport", re.IGNORECASE)
PASSPORT_CONTEXT = 40


def resident_id_check_digit(first17: str) -> str:
    """The 18th character of a 居民身份证号 (GB 11643-1999, ISO 7064 MOD 11-2)."""
    if len(first17) != 17 or not first17.isdigit():
        raise ValueError("needs the first 17 digits")
    total = sum(int(d) * w for d, w in zip(first17, _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11]


def _valid_birth(year: int, month: int, day: int) -> bool:
    if not 1900 <= year <= 2100:
        return False
    try:
        date(year, month, day)
    except ValueError:
        return False
    return True


def is_resident_id(value: str) -> bool:
    """18 characters, a real birth date and the right check digit."""
    if len(value) != 18 or not value[:17].isdigit():
        return False
    birth = value[6:14]
    if not _valid_birth(int(birth[:4]), int(birth[4:6]), int(birth[6:])):
        return False
    return resident_id_check_digit(value[:17]) == value[17].upper()


def is_legacy_resident_id(value: str) -> bool:
    """The 15-digit card of before 1999: 6 area digits, YYMMDD (19YY), 3 sequence digits."""
    if len(value) != 15 or not value.isdigit():
        return False
    return _valid_birth(1900 + int(value[6:8]), int(value[8:10]), int(value[10:12]))


def luhn_check_digit(partial: str) -> str:
    """The digit that makes `partial + digit` pass the Luhn check (ISO/IEC 7812-1)."""
    if not partial.isdigit():
        raise ValueError("digits only")
    total = 0
    for i, d in enumerate(reversed(partial)):
        n = int(d)
        if i % 2 == 0:
            n *= 2
            if n > 9:
                n -= 9
        total += n
    return str((10 - total % 10) % 10)


def luhn_valid(number: str) -> bool:
    return len(number) >= 2 and number.isdigit() and luhn_check_digit(number[:-1]) == number[-1]


def is_bank_card(digits: str) -> bool:
    """16–19 digits with a valid Luhn digit (银联 cards); not all one repeated digit."""
    return 16 <= len(digits) <= 19 and len(set(digits)) > 1 and luhn_valid(digits)


def mask(raw: str, kind: FindingKind) -> str:
    """Hide the middle digits, keep the length (so a redaction keeps every other offset)."""
    if kind is FindingKind.email:
        # Keep the first character (if the name is longer than two) and the domain.
        folded = "".join(unicodedata.normalize("NFKC", ch) for ch in raw)
        shape = folded if len(folded) == len(raw) else raw
        at = shape.index("@") if "@" in shape else len(raw)
        keep = 1 if at > 2 else 0
        return raw[:keep] + "*" * (at - keep) + raw[at:]
    keep_head, keep_tail = {
        FindingKind.mobile: (3, 4),
        FindingKind.passport: (1, 2),
    }.get(kind, (4, 4))
    digit_positions = [i for i, ch in enumerate(raw) if ch.isalnum()]
    hidden = set(digit_positions[keep_head : len(digit_positions) - keep_tail])
    if kind is FindingKind.mobile and unicodedata.normalize("NFKC", raw).startswith(("+86", "86")):
        hidden = set(digit_positions[2 + keep_head : len(digit_positions) - keep_tail])
    return "".join("*" if i in hidden else ch for i, ch in enumerate(raw))


def fingerprint(salt: str, kind: FindingKind, normalized: str) -> str:
    """Stable per document and value, so a justification survives an unrelated revision."""
    digest = hashlib.sha256(f"{salt}|{kind.value}|{normalized}".encode()).hexdigest()
    return f"{kind.value}:{digest[:16]}"


def _digits(raw: str) -> str:
    return "".join(ch for ch in raw if ch.isdigit() or ch in "Xx").upper()


def normalize(text: str) -> tuple[str, list[int]]:
    """NFKC, character by character, with the original index of every normalized character.

    Full-width digits and punctuation (１３９１２３４５６７８, －, the ideographic space)
    become ASCII, so the patterns see them; positions map back to the original text.
    """
    out: list[str] = []
    origin: list[int] = []
    for i, ch in enumerate(text):
        folded = unicodedata.normalize("NFKC", ch) if ord(ch) > 0x7F else ch
        out.append(folded)
        origin.extend([i] * len(folded))
    return "".join(out), origin


def scan_text(text: str, field: str, salt: str) -> list[PrivacyFinding]:
    """Every personal datum in one text. Resident ids win over the patterns they contain.

    Matching runs on the NFKC form (full-width digits count); each finding's span, mask
    and redaction refer to the original text.
    """
    found: list[PrivacyFinding] = []
    taken: list[tuple[int, int]] = []
    folded, origin = normalize(text)

    def free(start: int, end: int) -> bool:
        return all(end <= s or start >= e for s, e in taken)

    def add(kind: FindingKind, n_start: int, n_end: int, normalized: str) -> None:
        start, end = origin[n_start], origin[n_end - 1] + 1
        raw = text[start:end]
        taken.append((n_start, n_end))
        found.append(
            PrivacyFinding(
                fingerprint=fingerprint(salt, kind, normalized),
                kind=kind,
                field=field,
                start=start,
                end=end,
                masked=mask(raw, kind),
            )
        )

    for m in _EMAIL.finditer(folded):  # first: a mailbox name may be a phone number
        add(FindingKind.email, m.start(), m.end(), m.group().lower())
    for m in _RESIDENT_ID.finditer(folded):
        if free(m.start(), m.end()) and is_resident_id(m.group()):
            add(FindingKind.resident_id, m.start(), m.end(), m.group().upper())
    for m in _LEGACY_ID.finditer(folded):
        if free(m.start(), m.end()) and is_legacy_resident_id(m.group()):
            add(FindingKind.legacy_resident_id, m.start(), m.end(), m.group())
    for m in _MOBILE.finditer(folded):
        if free(m.start(), m.end()):
            digits = _digits(m.group())
            add(FindingKind.mobile, m.start(), m.end(), digits[-11:])
    for m in _CARD.finditer(folded):
        digits = _digits(m.group())
        if free(m.start(), m.end()) and is_bank_card(digits):
            add(FindingKind.bank_card, m.start(), m.end(), digits)
    for m in _PASSPORT.finditer(folded):
        context = folded[max(0, m.start() - PASSPORT_CONTEXT) : m.start()]
        if free(m.start(), m.end()) and _PASSPORT_WORD.search(context):
            add(FindingKind.passport, m.start(), m.end(), m.group().upper())
    return sorted(found, key=lambda f: f.start)


def scan(fields: Mapping[str, str], salt: str) -> list[PrivacyFinding]:
    """Findings over several named texts (title, body, attachments_text[i] …)."""
    return [f for name, text in fields.items() for f in scan_text(text, name, salt)]


def redact(text: str, findings: Iterable[PrivacyFinding]) -> str:
    """Replace each finding's span with its mask (masks keep the length, so order is free)."""
    chars = list(text)
    for f in findings:
        if text[f.start : f.end] and len(f.masked) == f.end - f.start:
            chars[f.start : f.end] = list(f.masked)
    return "".join(chars)
