"""edgeser.corpora: corpus readers, label mapping, splits, augmentation, feature cache, demo corpus.

Every reader returns a :class:`CorpusReadResult` of :class:`Utterance` records;
``read_corpus(name, root, **options)`` picks the reader by name.
"""

from edgeser.corpora.labels import SHARED_4, SHARED_7, LabelMapping, normalise
from edgeser.corpora.registry import READERS, corpus_names, read_corpus
from edgeser.corpora.types import CorpusLayoutError, CorpusReadResult, Utterance, check_audio

__all__ = [
    "CorpusLayoutError", "CorpusReadResult", "LabelMapping", "READERS", "SHARED_4", "SHARED_7",
    "Utterance", "check_audio", "corpus_names", "normalise", "read_corpus",
]
