"""A letter (格式文书) as a PDF file: the same `Letter` the printable page shows, laid out on
A4 with the margins of GB/T 9704-2012 (天头 37 mm, 订口 28 mm), the organ's name in red
over a red rule, the title in a bold sans face, the text in a serif face at 16 pt (三号)
with two characters' indent, the seal block on the right, and the page number at the foot.

The Chinese faces are EMBEDDED (subset) from a font installed on the machine, so the file
reads the same on any intranet PC without fonts of its own: Debian's fonts-noto-cjk
(Noto Serif CJK SC for the text, Noto Sans CJK SC Bold for the title), or the file named
by GONGKAI_LETTER_FONT. Without a CJK font no PDF is made: `find_fonts` returns None and
the workbench says so in words (the page still prints from the browser).

Pure apart from reading the font files: `render(letter, fonts)` returns the PDF's bytes.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from fpdf import FPDF
from fpdf.enums import Align, XPos, YPos
from fpdf.fonts import FontFace

from services.workbench.letters import Letter

#: Where Debian's fonts-noto-cjk puts its collections; first found wins per role.
NOTO = Path("/usr/share/fonts/opentype/noto")
SERIF_FILES = (NOTO / "NotoSerifCJK-Regular.ttc", NOTO / "NotoSansCJK-Regular.ttc")
BOLD_FILES = (
    NOTO / "NotoSansCJK-Bold.ttc",
    NOTO / "NotoSerifCJK-Bold.ttc",
    *SERIF_FILES,
)
#: GB/T 9704-2012 5.2.1: 天头 37 mm, 订口 28 mm; the text block 156 × 225 mm.
TOP, LEFT, RIGHT, BOTTOM = 37.0, 28.0, 26.0, 35.0
BODY_PT, TITLE_PT, ORGAN_PT = 16.0, 22.0, 20.0
LINE_MM = 9.9  # 16 pt text on 28 pt lines (22 lines a page, as the standard's grid)
RED = (176, 0, 0)


@dataclass(frozen=True)
class Face:
    path: Path
    index: int  # the face's number in a collection (.ttc); 0 for a single font


@dataclass(frozen=True)
class Fonts:
    text: Face
    title: Face


def _simplified(path: Path) -> int | None:
    """The number of the Simplified Chinese face in the file (0 for a lone font), or None
    if the file is missing or unreadable."""
    if not path.is_file():
        return None
    if path.suffix.lower() not in {".ttc", ".otc"}:
        return 0
    from fontTools.ttLib import TTCollection  # fpdf2's own dependency

    try:
        collection = TTCollection(str(path), lazy=True)
    except Exception:  # a damaged file is as good as none; the caller tries the next
        return None
    for number, font in enumerate(collection.fonts):
        name = str(font["name"].getDebugName(4) or "")
        if name.endswith(" SC") or " SC " in name:
            return number
    return None


def _face(candidates: tuple[Path, ...]) -> Face | None:
    for path in candidates:
        number = _simplified(path)
        if number is not None:
            return Face(path, number)
    return None


@lru_cache(maxsize=1)
def find_fonts() -> Fonts | None:
    """The installed faces the letters are set in, or None: without one no PDF is made.
    GONGKAI_LETTER_FONT (a .ttf/.otf, or a .ttc whose SC face is used) overrides both."""
    override = os.environ.get("GONGKAI_LETTER_FONT")
    if override:
        face = _face((Path(override),))
        return Fonts(face, face) if face else None
    text = _face(SERIF_FILES)
    if text is None:
        return None
    return Fonts(text, _face(BOLD_FILES) or text)


class _Sheet(FPDF):
    def footer(self) -> None:
        """The page number as a government document has it: 「— 1 —」, at the foot."""
        self.set_y(-BOTTOM + 7)
        self.set_font("text", size=14)
        self.cell(0, 7, f"— {self.page_no()} —", align=Align.C)


def render(letter: Letter, fonts: Fonts) -> bytes:
    """The letter as an A4 PDF with its Chinese faces embedded."""
    pdf = _Sheet(format="A4", unit="mm")
    pdf.set_margins(LEFT, TOP, RIGHT)
    pdf.set_auto_page_break(True, margin=BOTTOM)
    pdf.add_font("text", "", str(fonts.text.path), collection_font_number=fonts.text.index)
    pdf.add_font("title", "", str(fonts.title.path), collection_font_number=fonts.title.index)
    pdf.set_title(f"{letter.title} {letter.number}")
    pdf.set_author(letter.organ)
    pdf.set_subject(letter.title)
    pdf.set_lang("zh-CN")
    pdf.add_page()
    width = pdf.epw

    # The organ's name in red, spaced, over a red rule (as the printed page).
    pdf.set_text_color(*RED)
    pdf.set_font("title", size=ORGAN_PT)
    pdf.set_char_spacing(2)
    pdf.cell(width, 11, letter.organ, align=Align.C, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_char_spacing(0)
    pdf.set_draw_color(*RED)
    pdf.set_line_width(0.6)
    pdf.line(LEFT, pdf.get_y() + 1, LEFT + width, pdf.get_y() + 1)
    pdf.set_text_color(0, 0, 0)
    pdf.set_draw_color(0, 0, 0)
    pdf.set_line_width(0.2)
    pdf.ln(5)

    pdf.set_font("title", size=TITLE_PT)
    pdf.multi_cell(width, 12, letter.title, align=Align.C, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font("text", size=BODY_PT)
    pdf.cell(width, LINE_MM, letter.number, align=Align.C, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(2)

    em = BODY_PT * 25.4 / 72  # one character's width, in mm

    def paragraph(text: str, indent: bool = True) -> None:
        # The first line two characters in (Chinese official writing); `write` flows the
        # rest from the left margin.
        pdf.set_x(LEFT + (2 * em if indent else 0))
        pdf.write(LINE_MM, text)
        pdf.ln(LINE_MM)

    if letter.addressee:
        paragraph(f"{letter.addressee}：", indent=False)
    for text in letter.paragraphs:
        paragraph(text)
    for number, item in enumerate(letter.items, start=1):
        paragraph(f"{number}. {item}")
    if letter.table:
        pdf.ln(2)
        pdf.set_font("text", size=12)
        heading = FontFace(emphasis=None, fill_color=(240, 240, 240))
        with pdf.table(
            line_height=7,
            headings_style=heading,
            text_align="LEFT",
            first_row_as_headings=True,
            col_widths=(3, 2, 4, 3),
        ) as table:
            for row in letter.table:
                table.row(row)
        pdf.set_font("text", size=BODY_PT)
        pdf.ln(2)
    if letter.remedy:
        paragraph(letter.remedy)
    for signature in letter.signatures:
        pdf.ln(3)
        paragraph(signature, indent=False)

    # The seal block: the organ and the date, right-aligned, with room for the seal.
    pdf.ln(LINE_MM)
    if pdf.will_page_break(LINE_MM * 2):
        pdf.add_page()
    pdf.cell(width - 8, LINE_MM, f"{letter.organ}（盖章）", align=Align.R)
    pdf.ln(LINE_MM)
    pdf.cell(width - 8, LINE_MM, letter.dated, align=Align.R)
    return bytes(pdf.output())


def file_name(letter: Letter) -> str:
    """The download's name: the title and the letter's number (no characters a file system
    refuses: the number's brackets and digits stay, slashes would not)."""
    return f"{letter.title}（{letter.number}）.pdf".replace("/", "-")
