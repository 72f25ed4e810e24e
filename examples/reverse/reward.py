#!/usr/bin/env python3
"""Reward command for the reverse example (the protocol: README, "Bring your
own task"). entrolab starts this once per run and sends one JSON line per
batch on stdin:

  {"request": 1, "completions": [{"prompt": "abc>", "completion": "cba",
    "answer": "cba", "id": "train-7", "source": ".../train.jsonl:8",
    "extra": {"length": 3}}, ...]}

and reads one JSON line back on stdout, one result per completion, in order:

  {"results": [{"reward": 1.0, "correct": true, "format": true, "position_acc": 1.0}, ...]}

Partial credit: a completion of the right length earns 0.5 times the share
of positions it gets right; an exact reversal earns 1. Anything printed to
stderr goes to the run's reward.log; stdout is only for replies.
"""
import json
import sys


def score(item):
    got, want = item["completion"].strip(), item["answer"]
    hits = sum(a == b for a, b in zip(got, want))
    acc = hits / len(want)
    if got == want:
        return {"reward": 1.0, "correct": True, "format": True, "position_acc": acc}
    if len(got) == len(want):
        return {"reward": 0.5 * acc, "correct": False, "format": True, "position_acc": acc}
    return {"reward": 0.0, "correct": False, "format": False, "position_acc": acc}


for line in sys.stdin:
    req = json.loads(line)
    results = [score(item) for item in req["completions"]]
    sys.stdout.write(json.dumps({"results": results}) + "\n")
    sys.stdout.flush()
