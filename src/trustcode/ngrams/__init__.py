"""Fast TF-IDF features for a fitted n-gram vocabulary: what the classifier computes per passage.

scikit-learn's ``TfidfVectorizer`` learns the vocabulary and the idf weights when a model is
trained; applying them afterwards is a pure-Python walk that builds every n-gram string of every
passage, which made the classifier ten times slower than the rules. :class:`NgramTfidf` gives the
same matrix (the same counts, sublinear tf, idf and l2 norm; equal to float rounding, as tests
check against scikit-learn) from the fitted vocabulary, and :class:`NgramFeatures` the rows of
several of them side by side (the classifier's word and character n-grams) from one pass over
the texts. Neither n-gram kind crosses white space except word pairs, so the work is per
white-space *chunk* of the lower-cased text:

- each distinct chunk gets a number in a chunk table kept across batches (bounded by
  ``CACHE_SIZE``), with its character n-gram counts (``char_wb``: n-grams inside word
  boundaries) and the numbers of its words (the ``(?u)\\b\\w\\w+\\b`` tokens) in growing arrays.
  A batch's new chunks are counted together with numpy, each character a digit of an integer
  key (:class:`_CharTables`), which matters on real text, where new chunks keep coming;
- a batch is then one lower-casing, one split and one dictionary look-up per chunk; its words
  are gathered from the chunks' rows with numpy, and word n-grams found by number;
- one sparse product sums it all: each text's row holds its chunks (whose rows carry their
  character n-gram counts) and its word n-grams (rows that carry just that feature).

Only numpy and scipy are needed, so coding with a saved model does not import scikit-learn.
The modules:

- :mod:`.tables`: the vocabularies as lookup tables (word numbers, word and character n-gram
  keys, a hash index answering many keys at once);
- :mod:`.tfidf`: :class:`NgramTfidf`, one fitted vocabulary with its idf weights;
- :mod:`.features`: :class:`NgramFeatures`, several of them side by side, with the chunk table
  and the sparse product.
"""

from __future__ import annotations

from .features import NgramFeatures
from .tables import drop_stop_chunks, is_stop_chunk
from .tfidf import ANALYZERS, NgramTfidf

__all__ = ["ANALYZERS", "NgramFeatures", "NgramTfidf", "drop_stop_chunks", "is_stop_chunk"]
