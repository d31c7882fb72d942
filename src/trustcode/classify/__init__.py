"""The classifier: passage text -> calibrated per-code scores, trained from gold codings.

Features are word (1-2) and character (2-5, ``char_wb``) n-gram TF-IDF, joined, and optionally
sentence embeddings (``embeddings="muse"``, the ``trustcode[embeddings]`` extra, see
:mod:`trustcode.embeddings`); one linear model per code (one-vs-rest logistic regression,
liblinear). Its regularization strength is chosen per code (``C="auto"``, the default) from
:data:`C_GRID` by inner cross-validation on the training passages: the value whose out-of-fold
scores rank the code's passages best (average precision). Each code's raw scores are calibrated with
Platt scaling fitted on out-of-fold predictions, and its threshold is the one that maximizes F1 on
those out-of-fold scores, but never below ``min_threshold`` (default 0.5: a calibrated score
saying "more likely than not"). One model serves every language of the codebook.

``train_model(..., definitions=True)`` also learns from the codebook's description of each
code (label, definition, ``include`` and their clauses), weighted so that a code's description
counts as much as an average code's gold passages (:func:`description_weights`).

A code needs ``min_positives`` positive training passages (default 20) to get a classifier;
with fewer it is coded by its rules only (a :class:`TrustcodeWarning` says so). Measured on the
shipped gold with grouped cross-validation: a handful of positives, all from one document, teach
the model that document's language and style rather than the code, and its false positives on
other documents cost more than its hits gain.

Models are saved with skops (never pickle) as plain arrays plus metadata: the codebook it was
trained for, the label set, thresholds, the C of each code, library versions and the training
size. The same data gives byte-identical model files. A model with embeddings stores only the
encoder's name; the encoder itself comes from its package when the model is used.

The modules:

- :mod:`.classifier`: :class:`CodeClassifier`, which learns features, one linear model per
  code with its C (:data:`C_GRID`), calibration and thresholds, and predicts and explains;
- :mod:`.calibration`: sample weights, Platt scaling and the F1 threshold of a code's model;
- :mod:`.evidence`: the features that raise a code's score most in a passage, picked for many
  passages at once, and :func:`format_evidence`;
- :mod:`.training`: training passages from gold, codebook examples and descriptions
  (:func:`training_set`, :func:`code_descriptions`, :func:`description_weights`),
  :func:`train_model` and :func:`codebook_fingerprint`;
- :mod:`.adapting`: :func:`adapt_model`, a trained model adapted to reviewed passages without
  its training texts (the base's coefficients as the prior);
- :mod:`.saving`: :func:`model_bytes` and :func:`save_model` (:data:`MODEL_FORMAT`);
- :mod:`.loading`: :func:`load_model`, :func:`model_metadata` and
  :func:`model_codebook_sha256`.
"""

from __future__ import annotations

from .adapting import ADAPT_WEIGHT, adapt_model
from .classifier import C_GRID, CodeClassifier
from .evidence import format_evidence
from .loading import load_model, model_codebook_sha256, model_metadata
from .saving import MODEL_FORMAT, MODEL_FORMAT_VERSION, model_bytes, save_model
from .training import (
    ILLUSTRATIVE_CODER,
    code_descriptions,
    codebook_fingerprint,
    description_weights,
    rule_codes_of,
    stop_words_for,
    train_model,
    training_set,
)

__all__ = [
    "ADAPT_WEIGHT",
    "C_GRID",
    "ILLUSTRATIVE_CODER",
    "MODEL_FORMAT",
    "MODEL_FORMAT_VERSION",
    "CodeClassifier",
    "adapt_model",
    "code_descriptions",
    "codebook_fingerprint",
    "description_weights",
    "format_evidence",
    "load_model",
    "model_bytes",
    "model_codebook_sha256",
    "model_metadata",
    "save_model",
    "rule_codes_of",
    "stop_words_for",
    "train_model",
    "training_set",
]
