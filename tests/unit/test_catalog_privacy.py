"""The privacy guard's detectors (DOMAIN.md §1 Privacy; 方案§8; 条例 Art. 15).

Property tests: every valid 居民身份证号 (GB 11643-1999 check digit) and bank card number
(Luhn digit) generated is found, and the same numbers with a wrong check digit are not.
"""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.catalog.events import FindingKind
from services.catalog.privacy import (
    is_resident_id,
    luhn_check_digit,
    luhn_valid,
    redact,
    resident_id_check_digit,
    scan,
    scan_text,
)

pytestmark = pytest.mark.unit

AREAS = st.sampled_from(["140421", "140402", "110105", "310115", "440305", "650102"])
BIRTHS = st.dates(min_value=date(1920, 1, 1), max_value=date(2025, 12, 31))
SEQUENCES = st.integers(min_value=0, max_value=999)


@st.composite
def resident_ids(draw: st.DrawFn) -> str:
    first17 = f"{draw(AREAS)}{draw(BIRTHS):%Y%m%d}{draw(SEQUENCES):03d}"
    return first17 + resident_id_check_digit(first17)


@st.composite
def bank_cards(draw: st.DrawFn) -> str:
    prefix = draw(st.sampled_from(["622202", "621700", "622848", "436742", "625965"]))
    length = draw(st.integers(min_value=16, max_value=19))
    middle = draw(st.text(alphabet="0123456789", min_size=length - 7, max_size=length - 7))
    partial = prefix + middle
    return partial + luhn_check_digit(partial)


def _kinds(text: str) -> list[FindingKind]:
    return [f.kind for f in scan_text(text, "body", salt="doc")]


def test_known_resident_id_check_digit__gb11643() -> None:
    # The standard's worked example: 11010519491231002X.
    assert resident_id_check_digit("11010519491231002") == "X"
    assert is_resident_id("11010519491231002X")
    assert not is_resident_id("110105194912310021")


@given(resident_ids(), st.sampled_from(["申请人身份证号", "公示对象：张三，证件号码 ", "户主"]))
def test_every_valid_resident_id_is_found__gb11643(number: str, before: str) -> None:
    text = f"{before}{number}，现予公示。"
    findings = scan_text(text, "body", salt="doc")
    assert [f.kind for f in findings] == [FindingKind.resident_id]
    found = findings[0]
    assert text[found.start : found.end] == number
    assert number not in found.masked and found.masked.endswith(number[-4:])


@given(resident_ids(), st.integers(min_value=1, max_value=10))
def test_resident_id_with_a_wrong_check_digit_is_not_a_resident_id__gb11643(
    number: str, shift: int
) -> None:
    alphabet = "0123456789X"
    wrong = alphabet[(alphabet.index(number[-1]) + shift) % 11]
    assert FindingKind.resident_id not in _kinds(f"证件号码{number[:-1]}{wrong}")


@given(bank_cards())
def test_every_valid_bank_card_is_found__luhn(number: str) -> None:
    text = f"补贴资金发放至户主银行卡 {number} 。"
    assert _kinds(text) == [FindingKind.bank_card]


@given(bank_cards(), st.integers(min_value=1, max_value=9))
def test_bank_card_with_a_wrong_luhn_digit_is_not_found__luhn(number: str, shift: int) -> None:
    wrong = number[:-1] + str((int(number[-1]) + shift) % 10)
    assert not luhn_valid(wrong)
    assert FindingKind.bank_card not in _kinds(f"卡号 {wrong} 。")


@given(st.sampled_from("3456789"), st.text(alphabet="0123456789", min_size=9, max_size=9))
def test_mobile_numbers_are_found_in_their_usual_spellings(second: str, rest: str) -> None:
    number = f"1{second}{rest}"
    for spelled in (number, f"+86 {number}", f"{number[:3]}-{number[3:7]}-{number[7:]}"):
        assert _kinds(f"联系电话：{spelled}。") == [FindingKind.mobile]


def test_office_landlines_dates_and_document_numbers_are_not_personal_data() -> None:
    text = "联系电话：0355-8123456；苏政发〔2026〕12号；2026年3月16日；邮编046000。"
    assert scan_text(text, "body", salt="doc") == []


def test_legacy_fifteen_digit_id_is_found() -> None:
    assert _kinds("老身份证号 140421850101123 。") == [FindingKind.legacy_resident_id]


@given(resident_ids(), bank_cards())
def test_redaction_removes_every_finding_and_keeps_the_rest_of_the_text(
    number: str, card: str
) -> None:
    text = f"户主身份证号{number}，银行卡号{card}，联系人李四。"
    findings = scan({"body": text}, salt="doc")
    masked = redact(text, findings)
    assert len(masked) == len(text)
    assert number not in masked and card not in masked
    assert masked.startswith("户主身份证号") and masked.endswith("，联系人李四。")
    assert scan({"body": masked}, salt="doc") == []


def test_fingerprint_is_stable_per_document_and_differs_between_documents() -> None:
    text = "身份证号11010519491231002X"
    (a,) = scan_text(text, "body", salt="doc-1")
    (b,) = scan_text("另起一段。" + text, "attachments_text[0]", salt="doc-1")
    (c,) = scan_text(text, "body", salt="doc-2")
    assert a.fingerprint == b.fingerprint != c.fingerprint


def _full_width(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


@given(resident_ids(), bank_cards())
def test_full_width_digits_are_found_and_redacted_in_place__s8(number: str, card: str) -> None:
    wide_id, wide_card = _full_width(number), _full_width(card)
    text = f"电话１３９１２３４５６７８，身份证号{wide_id}，卡号{wide_card}。"
    findings = scan_text(text, "body", salt="doc")
    assert [f.kind for f in findings] == [
        FindingKind.mobile,
        FindingKind.resident_id,
        FindingKind.bank_card,
    ]
    assert [text[f.start : f.end] for f in findings] == [
        "１３９１２３４５６７８",
        wide_id,
        wide_card,
    ]
    # The same number in either width is the same datum (one fingerprint, one justification).
    narrow = scan_text(f"电话13912345678，身份证号{number}，卡号{card}。", "body", salt="doc")
    assert [f.fingerprint for f in findings] == [f.fingerprint for f in narrow]
    masked = redact(text, findings)
    assert len(masked) == len(text) and masked.startswith("电话１３９****５６７８，")
    assert scan_text(masked, "body", salt="doc") == []


def test_full_width_plus86_and_hyphens_are_one_mobile_number__s8() -> None:
    text = "联系人手机：＋８６ １３８－３４５６－７８９０。"
    (finding,) = scan_text(text, "body", salt="doc")
    assert finding.kind is FindingKind.mobile
    assert text[finding.start : finding.end] == "＋８６ １３８－３４５６－７８９０"
    assert finding.masked == "＋８６ １３８－****－７８９０"


@pytest.mark.parametrize(
    ("text", "value", "masked"),
    [
        ("联系邮箱：zhangsan.1985@163.com。", "zhangsan.1985@163.com", "z************@163.com"),
        ("邮箱13912345678@qq.com。", "13912345678@qq.com", "1**********@qq.com"),
        ("邮箱 ａｂ＠ｘ．ｃｎ", "ａｂ＠ｘ．ｃｎ", "**＠ｘ．ｃｎ"),
    ],
)
def test_email_addresses_are_personal_data_and_a_mailbox_number_is_one_finding__s8(
    text: str, value: str, masked: str
) -> None:
    (finding,) = scan_text(text, "body", salt="doc")
    assert finding.kind is FindingKind.email
    assert text[finding.start : finding.end] == value and finding.masked == masked
    assert scan_text(redact(text, [finding]), "body", salt="doc") == []


def test_passport_numbers_are_found_after_the_word_passport__s8() -> None:
    text = "申请人护照号码E12345678，同行人护照EA1234567、G87654321。"
    findings = scan_text(text, "body", salt="doc")
    assert [f.kind for f in findings] == [FindingKind.passport] * 3
    assert [f.masked for f in findings] == ["E******78", "E******67", "G******21"]
    assert scan_text(redact(text, findings), "body", salt="doc") == []
    # The bare shape is also that of codes and dates: not without the word.
    assert scan_text("项目编号G20190312，合同号E20260301。", "body", salt="doc") == []
