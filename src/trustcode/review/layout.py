"""What a review workbook looks like: its sheets, its columns, the decisions, the reviewer's
instructions and Excel's limits.

>>> f"letters{DECISION_SUFFIX}"
'letters: decision'
"""

from __future__ import annotations

REVIEW_SHEET = "review"
INSTRUCTIONS_SHEET = "instructions"
CODEBOOK_SHEET = "codebook"
PROVENANCE_SHEET = "provenance"
#: each coded document's source and text hash, to tell a stale review row (review.staleness)
DOCUMENTS_SHEET = "documents"
#: the first columns of the review sheet, in order
BASE_COLUMNS: tuple[str, ...] = (
    "passage_id",
    "doc_id",
    "start",
    "end",
    "text",
    "machine_codes",
    "uncertainty",
)
#: the columns after the code columns, in order
TAIL_COLUMNS: tuple[str, ...] = ("added_codes", "reviewer", "note", "language")
#: columns :func:`read_review` cannot do without
REQUIRED_COLUMNS: tuple[str, ...] = ("passage_id", "doc_id", "start", "end", "text", "added_codes")
DECISION_SUFFIX = ": decision"
DECISIONS: tuple[str, ...] = ("accept", "reject")
UNREVIEWED_CHOICES: tuple[str, ...] = ("reject", "accept")
#: how many passages a review sheet chooses to teach the model most (``code --review-size``)
REVIEW_SIZE = 50
#: what a code cell says when the machine proposes the code
PROPOSED = "coded"
#: the coder of a row whose reviewer cell is empty
DEFAULT_REVIEWER = "reviewer"

MAX_CELL = 32_767
MAX_ROWS = 1_048_576
# Excel refuses longer data-validation prompts and titles
PROMPT_LIMIT = 255
TITLE_LIMIT = 32
WIDTHS = {
    "passage_id": 16,
    "doc_id": 14,
    "start": 8,
    "end": 8,
    "text": 70,
    "machine_codes": 26,
    "uncertainty": 12,
    "added_codes": 26,
    "reviewer": 14,
    "note": 40,
    "language": 10,
}
WRAPPED = {"text", "machine_codes", "note"}

INSTRUCTIONS: tuple[str, ...] = (
    "How to review these codings",
    "",
    "Each row of the 'review' sheet is one passage of a document. The passages the machine was "
    "least sure about come first (the 'uncertainty' column, 0 = sure, 1 = a coin toss).",
    "For every code there are two columns. The first, named after the code, says 'coded' when "
    "the machine proposes the code for the passage; its cell comment shows the score and the "
    "evidence (which rule matched which words, or which words drove the classifier).",
    "The second, '<code>: decision', is yours. Pick 'accept' when the code applies to the "
    "passage, 'reject' when it does not. Accepting a code the machine did not propose adds it.",
    "Which rows count: a row on which you fill in nothing (no decision, no added code, no "
    "reviewer) is NOT reviewed and is left out: trustcode neither learns from it nor counts it "
    "as your coding. You may review only the first rows and leave the rest as they are.",
    "On a row you reviewed, a decision cell left empty means you did not review that code. Such "
    "a machine proposal is NOT confirmed: it is dropped when the sheet is read back, unless it is "
    "read with the option to accept unreviewed proposals (trustcode: --unreviewed accept). A "
    "code neither proposed nor accepted nor added counts as 'does not apply'.",
    "'added_codes': type the ids of further codes that apply, separated by ';' "
    "(for example: {example}). The ids are listed on the 'codebook' sheet.",
    "'reviewer': your name or initials; it becomes the coder of the row (default: reviewer).",
    "'note': anything you want to remember; trustcode does not read it.",
    "Do not edit the passage_id, doc_id, start, end or text columns, and do not rename or delete "
    "columns: trustcode needs them to read the sheet back.",
    "When done, save the workbook (keep the .xlsx format) and give it to trustcode train, "
    "evaluate or agree like any other human coding.",
)
