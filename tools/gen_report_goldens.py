"""Goldens for src/report/classification.c: scikit-learn's classification_report
(text and output_dict) on made-up predictions, as `albertc eval` calls it:
labels=range(C), target_names=the model's label names, zero_division="warn".
Writes tests/goldens/classification_report.json. Needs python3-sklearn."""
import json
import os
import warnings

import numpy as np
from sklearn.metrics import classification_report, confusion_matrix

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "goldens", "classification_report.json")


def case(name, names, gold, pred, digits):
    labels = list(range(len(names)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zero_division's warnings: the values are what we test
        text = classification_report(gold, pred, labels=labels, target_names=names, digits=digits)
        report = classification_report(gold, pred, labels=labels, target_names=names, output_dict=True)
    return {"case": name, "names": names, "digits": digits, "gold": [int(x) for x in gold],
            "pred": [int(x) for x in pred], "text": text, "dict": report,
            "confusion": confusion_matrix(gold, pred, labels=labels).tolist()}


def noisy(rng, n, n_labels, accuracy):
    gold = rng.integers(0, n_labels, size=n)
    wrong = rng.random(n) > accuracy
    pred = np.where(wrong, rng.integers(0, n_labels, size=n), gold)
    return gold, pred


def main():
    rng = np.random.default_rng(77)
    intents = [f"intent_{i:02d}_" + "x" * (i % 19) for i in range(77)]  # names wider than "weighted avg"
    cases = []
    gold, pred = noisy(rng, 3080, 77, 0.9)
    cases.append(case("banking77_like", intents, gold, pred, 4))
    gold, pred = noisy(rng, 500, 77, 0.3)
    cases.append(case("banking77_like_digits2", intents, gold, pred, 2))
    # label 3 has no support but is predicted; label 4 is never predicted
    cases.append(case("no_support_never_predicted", ["a", "b", "c", "d", "e"],
                      [0, 0, 1, 1, 2, 2, 4, 4], [0, 1, 1, 3, 2, 0, 0, 2], 4))
    # label 2 appears nowhere: "micro avg" instead of "accuracy"
    cases.append(case("label_absent_everywhere", ["neg", "pos", "unused"],
                      [0, 1, 1, 0, 1], [0, 1, 0, 0, 1], 3))
    cases.append(case("all_correct", ["only", "two"], [0, 1, 1], [0, 1, 1], 4))
    cases.append(case("all_wrong", ["ü-label", "日本語", "z"], [0, 1, 2, 0], [1, 2, 0, 2], 5))
    gold, pred = noisy(rng, 1000, 300, 0.5)  # more labels than one numpy block (128)
    cases.append(case("many_labels", [f"l{i}" for i in range(300)], gold, pred, 4))
    with open(OUT + ".tmp", "w", encoding="utf-8") as f:
        json.dump(cases, f, ensure_ascii=False, indent=None)
        f.write("\n")
    os.replace(OUT + ".tmp", OUT)
    print(f"wrote {OUT}: {len(cases)} cases")


if __name__ == "__main__":
    main()
