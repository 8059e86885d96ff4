"""Keras' Reuters newswire file: hash-checked loading, Keras' split, multi-hot vectors.

The conventions are those of ``keras.datasets.reuters.load_data`` with its defaults: wires are
shuffled with seed 113, word ids are shifted by 3 (``index_from``) with 1 marking the start of a
wire and 2 standing for any word outside the ``num_words`` most frequent, and the last 20% are the
test split (8,982 train / 2,246 test).
"""

from __future__ import annotations

import json

import numpy as np

from common.data import fetch

NUM_CLASSES = 46
START_CHAR, OOV_CHAR, INDEX_FROM = 1, 2, 3
KERAS_SEED, TEST_SPLIT = 113, 0.2

_ORIGIN = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"
NPZ_SHA256 = "d6586e694ee56d7a4e65172e12b3e987c03096cb01eab99753921ef915959916"
WORD_INDEX_SHA256 = "9b56000edc4b34a32e89fd5a23b2605594682c74efcf7d8f4e2a5514b771e633"


def load_wires(data_dir=None, num_words: int = 1000):
    """``(train_wires, y_train), (test_wires, y_test)`` exactly as Keras' ``load_data`` gives them.

    Each wire is an int array of word ids (start char first, rare words as OOV_CHAR). The file's
    sha256 is checked before it is unpickled.
    """
    path = fetch("reuters/reuters.npz", _ORIGIN + "reuters.npz", NPZ_SHA256, data_dir)
    with np.load(path, allow_pickle=True) as npz:  # safe: the hash matched Keras' published one
        wires, labels = npz["x"], npz["y"]
    order = np.arange(len(wires))
    np.random.RandomState(KERAS_SEED).shuffle(order)
    wires = [encode_wire(wires[i], num_words) for i in order]
    labels = labels[order].astype(np.int64)
    cut = int(len(wires) * (1 - TEST_SPLIT))
    return (wires[:cut], labels[:cut]), (wires[cut:], labels[cut:])


def encode_wire(raw_ids, num_words: int) -> np.ndarray:
    """Raw word ids → Keras' ids: shift by INDEX_FROM, prepend START_CHAR, rare words → OOV_CHAR."""
    ids = np.asarray(raw_ids, dtype=np.int64) + INDEX_FROM
    ids[ids >= num_words] = OOV_CHAR
    return np.concatenate([[START_CHAR], ids])


def _cells(wires, num_words: int) -> tuple[np.ndarray, np.ndarray]:
    """(row, word id) of every word of every wire, checked to fit in ``num_words`` columns."""
    lengths = np.fromiter((len(w) for w in wires), dtype=np.int64, count=len(wires))
    rows = np.repeat(np.arange(len(wires)), lengths)
    cols = np.concatenate(wires) if len(wires) else np.zeros(0, np.int64)
    if cols.size and cols.max() >= num_words:
        raise ValueError(f"word id {cols.max()} does not fit in {num_words} columns")
    return rows, cols


def multi_hot(wires, num_words: int) -> np.ndarray:
    """float32 [N, num_words]: 1 where the word id occurs in the wire (any number of times)."""
    vectors = np.zeros((len(wires), num_words), dtype=np.float32)
    vectors[_cells(wires, num_words)] = 1.0
    return vectors


def word_counts(wires, num_words: int) -> np.ndarray:
    """float32 [N, num_words]: how often each word id occurs in each wire."""
    vectors = np.zeros((len(wires), num_words), dtype=np.float32)
    np.add.at(vectors, _cells(wires, num_words), 1.0)
    return vectors




def vectorize(train_wires, test_wires, *, num_words: int, mode: str = "multi-hot"):
    """Both splits as ``mode``: ``multi-hot`` (the homework's), or ``tfidf`` (sublinear term
    frequency × inverse document frequency, rows scaled to unit length; the document
    frequencies come from the training wires only, and use no labels)."""
    if mode == "multi-hot":
        return multi_hot(train_wires, num_words), multi_hot(test_wires, num_words)
    from sklearn.feature_extraction.text import TfidfTransformer

    tfidf = TfidfTransformer(sublinear_tf=True).fit(word_counts(train_wires, num_words))
    return tuple(tfidf.transform(word_counts(w, num_words)).toarray().astype(np.float32)
                 for w in (train_wires, test_wires))


def one_hot(labels: np.ndarray, num_classes: int = NUM_CLASSES) -> np.ndarray:
    return np.eye(num_classes, dtype=np.float32)[labels]


def load_word_index(data_dir=None) -> dict[str, int]:
    path = fetch("reuters/reuters_word_index.json", _ORIGIN + "reuters_word_index.json",
                 WORD_INDEX_SHA256, data_dir)
    return json.loads(path.read_text())


def decode_wire(wire, word_index: dict[str, int]) -> str:
    """Words of a wire; '?' for the start, OOV and padding ids, as in Keras' examples."""
    words = {i + INDEX_FROM: w for w, i in word_index.items()}
    return " ".join(words.get(int(i), "?") for i in wire)


def load_reuters(data_dir=None, num_words: int = 1000, inputs: str = "multi-hot") -> dict:
    """Inputs (see ``vectorize``) and one-hot targets for both of Keras' splits, plus the
    integer labels."""
    (train_wires, y_train), (test_wires, y_test) = load_wires(data_dir, num_words)
    x_train, x_test = vectorize(train_wires, test_wires, num_words=num_words, mode=inputs)
    return {
        "x_train": x_train, "y_train": one_hot(y_train),
        "x_test": x_test, "y_test": one_hot(y_test),
        "labels_train": y_train, "labels_test": y_test,
    }


def validation_rows(labels_train: np.ndarray, *, seed: int, fraction: float = 0.1):
    """Stratified (fit, validation) row indices carved from Keras' 8,982 training wires."""
    from sklearn.model_selection import train_test_split

    rows = np.arange(len(labels_train))
    fit, val = train_test_split(rows, test_size=fraction, stratify=labels_train,
                                random_state=seed)
    return np.sort(fit), np.sort(val)


def protocol_splits(data: dict, *, protocol: str, seed: int, val_fraction: float = 0.1) -> dict:
    """``{split: (x, y_onehot, labels)}`` for ``train``, ``val`` and ``test``.

    ``honest``: ``val`` is a stratified part of the training wires, ``train`` the rest, ``test``
    Keras' 2,246 test wires (scored once, on the kept checkpoint). ``homework``: the homework's
    setting, in which the test wires double as the validation data.
    """
    keras_test = (data["x_test"], data["y_test"], data["labels_test"])
    if protocol == "homework":
        everything = (data["x_train"], data["y_train"], data["labels_train"])
        return {"train": everything, "val": keras_test, "test": keras_test}
    fit, val = validation_rows(data["labels_train"], seed=seed, fraction=val_fraction)
    part = lambda rows: tuple(data[k][rows] for k in ("x_train", "y_train", "labels_train"))  # noqa: E731
    return {"train": part(fit), "val": part(val), "test": keras_test}
