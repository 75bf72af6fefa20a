"""The consultation summary as a one- or two-page PDF for the doctor, drawn with fpdf2 from `export.summary`.

The PDF is in English, the language doctor mode uses and the one the finding labels are written in; the
disclaimer is also given in the patient's language when the font can draw it. DejaVu Sans (Debian's
fonts-dejavu-core) is used when installed; otherwise fpdf2's built-in Helvetica, which only draws Latin-1,
so other characters are replaced. No font is downloaded.
"""

from __future__ import annotations

import unicodedata
from pathlib import Path

from fpdf import FPDF
from fpdf.fonts import FontFace

from codx.agent import texts

FONT_DIRS = (Path("/usr/share/fonts/truetype/dejavu"), Path("/usr/local/share/fonts/dejavu"))
#: Languages whose script DejaVu Sans draws without shaping.
DRAWABLE = {"en", "es", "fr"}
URGENCY_TEXT = {
    "emergency": "EMERGENCY: call the emergency number now",
    "urgent": "Urgent: see a doctor today",
    "routine": "Routine: book an appointment with a doctor",
    "self_care": "Self-care is likely enough; see a doctor if it gets worse or does not improve",
}
DECISION_TEXT = {
    "ask": "Consultation not finished (more questions would help)",
    "diagnose": "Confident enough to summarise (tau reached)",
    "undetermined": "Not confident enough to narrow down",
    "emergency": "Emergency signs: assessment needed now",
}


class _Doc(FPDF):
    def __init__(self) -> None:
        super().__init__(format="A4")
        self.unicode = False
        for folder in FONT_DIRS:
            regular, bold = folder / "DejaVuSans.ttf", folder / "DejaVuSans-Bold.ttf"
            if regular.exists() and bold.exists():
                self.add_font("body", "", str(regular))
                self.add_font("body", "B", str(bold))
                self.unicode = True
                break
        self.family = "body" if self.unicode else "helvetica"
        self.set_auto_page_break(True, margin=18)

    def footer(self) -> None:
        self.set_y(-14)
        self.set_font(self.family, "", 7)
        self.set_text_color(90)
        self.cell(0, 5, self.clean(texts.t("en", "disclaimer")) + f"  Page {self.page_no()}", align="C")

    def clean(self, value: object) -> str:
        s = str(value)
        if self.unicode:
            return s
        s = unicodedata.normalize("NFKD", s).encode("latin-1", "ignore").decode("latin-1")
        return s


def render_pdf(data: dict) -> bytes:
    """The summary as PDF bytes."""
    doc = _Doc()
    t = doc.clean
    doc.add_page()
    doc.set_font(doc.family, "B", 16)
    doc.cell(0, 10, "codx consultation summary", new_x="LMARGIN", new_y="NEXT")
    doc.set_font(doc.family, "", 9)
    doc.set_text_color(60)
    doc.cell(0, 5, t(f"Created {data['created']}  |  consultation {data['consultation']}  |  {data['generator']}"))
    doc.ln(6)
    about = f"Patient's language: {data['language']}  |  questions asked: {data['questions_asked']}"
    if data.get("age_years") is not None:
        about += f"  |  age: {data['age_years']:g} years"
    if data.get("sex"):
        about += f"  |  sex: {data['sex']}"
    doc.cell(0, 5, t(about))
    doc.ln(8)
    doc.set_text_color(0)

    if data["red_flags"]:
        doc.set_fill_color(200, 30, 30)
        doc.set_text_color(255)
        doc.set_font(doc.family, "B", 11)
        flags = ", ".join(f["label"] for f in data["red_flags"])
        _para(doc, 7, t(f"EMERGENCY SIGNS: {flags}. Call {data['emergency_number']} now."), fill=True)
        doc.set_text_color(0)
        doc.ln(3)

    _heading(doc, "Urgency")
    urgency = data["urgency"]
    doc.set_font(doc.family, "B", 10)
    _para(doc, 6, t(URGENCY_TEXT.get(urgency["level"], urgency["level"])))
    doc.set_font(doc.family, "", 9)
    _para(doc, 5, t(urgency["reason"]))
    doc.ln(2)

    _heading(doc, "Findings")
    rows = [(f["label"], f["id"], f["status"], f["source"]) for f in data["findings"]]
    _table(doc, ("Finding", "Id", "Status", "Source"), rows or [("none recorded", "", "", "")], (90, 40, 25, 25))

    _heading(doc, "Differential (posterior probability)")
    rows = [(str(k), c["label"], c["id"], f"{c['probability']:.1%}") for k, c in enumerate(data["differential"], 1)]
    _table(doc, ("#", "Condition", "Id", "Probability"), rows or [("", "no candidates", "", "")], (10, 110, 35, 25))

    if data["reasoning"]:
        _heading(doc, "Reasoning (log likelihood ratios)")
        doc.set_font(doc.family, "", 9)
        for r in data["reasoning"]:
            up = ", ".join(f"{x['finding']} {x['log_lr']:+.1f}" for x in r["raised_by"]) or "-"
            down = ", ".join(f"{x['finding']} {x['log_lr']:+.1f}" for x in r["lowered_by"]) or "-"
            _para(doc, 5, t(f"{r['label']}: raised by {up}; lowered by {down}"))
            doc.ln(1)

    if data.get("next_questions"):
        _heading(doc, "Next-best questions (expected information gain)")
        rows = [(q["label"], q["finding"], f"{q['gain_bits']:.2f} bits") for q in data["next_questions"]]
        _table(doc, ("Finding", "Id", "Gain"), rows, (110, 40, 30))

    _heading(doc, "Decision")
    doc.set_font(doc.family, "", 10)
    _para(doc, 6, t(DECISION_TEXT.get(data["decision"], data["decision"])))
    doc.ln(3)
    doc.set_font(doc.family, "B", 10)
    _para(doc, 6, t(texts.t("en", "disclaimer")))
    if data["language"] != "en" and data["language"] in DRAWABLE:
        doc.set_font(doc.family, "", 10)
        _para(doc, 6, t(data["disclaimer"]))
    return bytes(doc.output())


def _para(doc: _Doc, height: int, text: str, fill: bool = False) -> None:
    doc.multi_cell(0, height, text, fill=fill, new_x="LMARGIN", new_y="NEXT")


def _heading(doc: _Doc, title: str) -> None:
    doc.ln(2)
    doc.set_font(doc.family, "B", 12)
    doc.cell(0, 8, doc.clean(title), new_x="LMARGIN", new_y="NEXT")


def _table(doc: _Doc, header: tuple[str, ...], rows: list[tuple[str, ...]], widths: tuple[int, ...]) -> None:
    doc.set_font(doc.family, "", 9)
    with doc.table(col_widths=widths, headings_style=FontFace(emphasis="BOLD"), line_height=5, width=sum(widths)) as tb:
        tb.row([doc.clean(h) for h in header])
        for row in rows:
            tb.row([doc.clean(c) for c in row])
    doc.ln(2)
