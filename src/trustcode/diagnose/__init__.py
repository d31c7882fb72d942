"""Codebook diagnostics on a corpus, and what a codebook change does to the coding.

:func:`diagnose` runs a codebook's rules (and, when given, a model) over a corpus and reports per
rule and per code: coverage, overlap between a code's rules, conflicts (veto rules firing with
their code's rules, codes of an exclusive codebook firing together), rules that never fire, and,
with gold codings, each rule's precision and recall and each code's for rules alone, classifier
alone and combined. With a model it lists the passages where rules and classifier disagree most,
and for every code it suggests terms that none of its rules covers (never added automatically).

:func:`diff_codebooks` codes one corpus with two codebooks and reports, per code, the passages
gained and lost, the change in the code x document counts and, with gold, in precision, recall
and F1.

Definitions (the column names of the tables):

- a rule *fires* in a passage when it has a hit there; a non-veto rule *codes* the passage when
  it fires and no veto rule of its code fires there (``coverage``); it codes it *uniquely* when it
  is the only non-veto rule of its code that fired (``unique``): removing that rule loses exactly
  those passages;
- a veto rule's ``coverage`` is the passages it fires in, its ``conflicts`` the passages where it
  removed its code from a passage a rule of the code had coded; its ``precision`` is the share
  of its gold passages whose gold lacks the code (the veto was right);
- gold passages are aligned to corpus passages by ``doc_id`` and offsets: a corpus passage takes
  the codes of the gold passage that contains its span (the same paragraph, or the paragraph a
  sentence of it lies in); corpus passages no gold passage contains are left out of every metric;
- rules and classifier *disagree* on a passage and code when a rule codes it but its score is
  below the code's threshold, or the score reaches the threshold and no rule codes it; the
  ``disagreement`` is ``|score - rule|`` (rule 1 or 0), largest first;
- a suggested term is a word n-gram the classifier weighs positively for a code (its ``coef``),
  or, for a code without a classifier, a word with a positive smoothed log-odds ratio between
  passages with and without the code (gold when given, else the rules' coding), that appears
  in at least two passages with the code; stop words, numbers and terms a rule of the code
  covers (it matches the term as a passage, or the term is part of one of its phrases or
  lemmas) are left out;
- in a diff, a code id missing from the new codebook is *renamed* to a code id missing from the
  old one when their labels are equal (ignoring case and spacing), or else when they have the
  same non-empty set of rules (kind, language, terms, veto; rule ids aside); pairs are made in
  old-codebook order, one to one. Other such codes are ``removed`` or ``added``.

The modules:

- :mod:`.steps`: the steps both reports share (read and segment the corpus, run the rules, load
  and run a model, combine them) and small helpers (precision/recall/F1, cut table text);
- :mod:`.align`: gold codings read and lined up with the corpus passages;
- :mod:`.tables`: the diagnosis tables per rule and per code, overlap, conflicts, never-firing
  rules and disagreements, with their column names (the ``*_COLUMNS`` constants);
- :mod:`.terms`: suggested terms for new rules;
- :mod:`.diagnosis`: :class:`Diagnosis` and :func:`diagnose`;
- :mod:`.diff`: :class:`CodebookDiff` and :func:`diff_codebooks` (and the ``DIFF_*`` constants).
"""

from __future__ import annotations

from .diagnosis import Diagnosis, diagnose
from .diff import (
    DIFF_AGREEMENT_COLUMNS,
    DIFF_CODE_COLUMNS,
    DIFF_MATRIX_COLUMNS,
    DIFF_PASSAGE_COLUMNS,
    CodebookDiff,
    diff_codebooks,
)
from .tables import (
    CODE_COLUMNS,
    CONFLICT_COLUMNS,
    CONFLICT_PASSAGE_COLUMNS,
    DISAGREEMENT_COLUMNS,
    NEVER_FIRED_COLUMNS,
    OVERLAP_COLUMNS,
    RULE_COLUMNS,
    RULE_PASSAGE_COLUMNS,
    TERM_COLUMNS,
)

# the column constants were importable from the old single module: they stay so
__all__ = [
    "CODE_COLUMNS",
    "CONFLICT_COLUMNS",
    "CONFLICT_PASSAGE_COLUMNS",
    "DIFF_AGREEMENT_COLUMNS",
    "DIFF_CODE_COLUMNS",
    "DIFF_MATRIX_COLUMNS",
    "DIFF_PASSAGE_COLUMNS",
    "DISAGREEMENT_COLUMNS",
    "NEVER_FIRED_COLUMNS",
    "OVERLAP_COLUMNS",
    "RULE_COLUMNS",
    "RULE_PASSAGE_COLUMNS",
    "TERM_COLUMNS",
    "CodebookDiff",
    "Diagnosis",
    "diagnose",
    "diff_codebooks",
]
