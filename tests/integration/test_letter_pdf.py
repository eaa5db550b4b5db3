"""Letters as PDF files (issue #17 格式文书): set in the machine's Chinese faces, embedded,
on A4, read back with PDFium (the reader in Chromium) as an applicant's PC would.

Needs a CJK font from Debian's fonts-noto-cjk (deploy/fonts.sh installs it; CI fails
without it, a local run without it skips and says why).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pypdfium2 as pdfium
import pytest

from services.applications.service import SERVICE as APPLICATIONS
from services.workbench import letter_pdf, letters
from services.workbench.labels import Labels
from shared.commands import every_enum_label
from tests.conftest import IN_CI

pytestmark = pytest.mark.integration

LABELS = Labels(every_enum_label(APPLICATIONS.commands))
ITEM = {
    "number": "苏店〔2026〕7号",
    "received_on": "2026-12-01",
    "description": "苏店镇2025年度惠民惠农补贴发放名单",
    "applicant": {"name": "王秀英"},
}
A4_POINTS = (595.28, 841.89)


@pytest.fixture
def fonts() -> letter_pdf.Fonts:
    found = letter_pdf.find_fonts()
    if found is None:
        message = "no CJK font (Debian's fonts-noto-cjk): run deploy/fonts.sh"
        if IN_CI:
            pytest.fail(f"CI=true and {message}", pytrace=False)
        pytest.skip(message)
    return found


@pytest.fixture
def no_font_cache() -> Iterator[None]:
    letter_pdf.find_fonts.cache_clear()
    yield
    letter_pdf.find_fonts.cache_clear()


def text_of(body: bytes) -> list[str]:
    document = pdfium.PdfDocument(body)
    return [page.get_textpage().get_text_range() for page in document]


def build(kind: str, history: list[dict[str, object]]) -> letters.Letter:
    letter = letters.build(kind, ITEM, history, "苏店镇", date(2026, 12, 6), LABELS)
    assert letter is not None
    return letter


def test_a_correction_notice_reads_back_whole_on_one_a4_page__art30(
    fonts: letter_pdf.Fonts,
) -> None:
    payload = {
        "defects": ["请写明所需补贴名单的具体年度", "请写明所需信息涉及的村（社区）"],
        "notified_on": "2026-12-02",
        "correction_due": "2026-12-23",
    }
    letter = build("correction", [{"type": "CorrectionRequested", "payload": payload}])
    body = letter_pdf.render(letter, fonts)

    document = pdfium.PdfDocument(body)
    assert len(document) == 1
    width, height = document[0].get_size()
    assert (round(width, 2), round(height, 2)) == A4_POINTS
    (page,) = text_of(body)
    flat = page.replace("\r\n", "").replace("\n", "")
    for words in (
        "苏店镇人民政府",
        "补正告知书",
        "苏店〔2026〕7号-补",
        "王秀英：",
        "请写明所需补贴名单的具体年度",
        "请写明所需信息涉及的村（社区）",
        "第三十条",
        "2026年12月23日前",
        "苏店镇人民政府（盖章）",
        "2026年12月2日",
        "— 1 —",
    ):
        assert words in flat, words
    # The faces travel with the file: both (text and title) are embedded, as subsets.
    assert body.count(b"/Type /FontDescriptor") == body.count(b"/FontFile") == 2
    assert letter_pdf.file_name(letter) == "补正告知书（苏店〔2026〕7号-补）.pdf"


def test_a_delivery_receipt_has_its_table_and_signature_lines(fonts: letter_pdf.Fonts) -> None:
    delivered = {
        "document": "reply",
        "channel": "post",
        "evidence_kind": "postal_tracking",
        "evidence_ref": "1151234567890",
        "delivered_on": "2026-12-04",
    }
    letter = build("delivery", [{"type": "DeliveryRecorded", "payload": delivered}])
    flat = "".join(text_of(letter_pdf.render(letter, fonts))).replace("\r\n", "")
    for words in (
        "送达回证",
        "送达文书",
        "送达凭证",
        "1151234567890",
        "2026年12月4日",
        "受送达人签名或盖章：",
    ):
        assert words in flat.replace("\n", ""), words


def test_a_long_reply_runs_onto_numbered_pages_with_the_seal_on_the_last(
    fonts: letter_pdf.Fonts,
) -> None:
    note = "本机关已对所申请信息逐项核查，相关材料分别形成于不同年度。" * 40
    payload = {"reply_type": "disclosed", "location": "随本告知书邮寄", "replied_on": "2026-12-10",
               "note": note}  # fmt: skip
    letter = build("reply", [{"type": "RequestReplied", "payload": payload}])
    pages = text_of(letter_pdf.render(letter, fonts))
    assert len(pages) >= 2
    for number, page in enumerate(pages, start=1):
        assert f"— {number} —" in page
    assert "行政复议" in pages[-1] and "苏店镇人民政府（盖章）" in pages[-1]
    assert "苏店镇人民政府（盖章）" not in "".join(pages[:-1])


def test_without_a_chinese_face_no_pdf_is_made(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_font_cache: None
) -> None:
    """A file that is not a font (or a missing one) gives None: the workbench then says in
    words why there is no PDF, instead of a file of empty boxes."""
    fake = tmp_path / "not-a-font.ttc"
    fake.write_bytes(b"this is not a font collection")
    monkeypatch.setenv("GONGKAI_LETTER_FONT", str(fake))
    assert letter_pdf.find_fonts() is None
    monkeypatch.setenv("GONGKAI_LETTER_FONT", str(tmp_path / "missing.ttf"))
    letter_pdf.find_fonts.cache_clear()
    assert letter_pdf.find_fonts() is None
