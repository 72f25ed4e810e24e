#!/usr/bin/env python3
"""Writes train.jsonl and test.jsonl for the reverse example: reverse a word
of 3-5 letters a-h. Deterministic (seed 1); the test words never occur in
train. Run: python3 make_data.py"""
import json
import random

rng = random.Random(1)
words = set()
while len(words) < 2200:
    n = rng.randint(3, 5)
    words.add("".join(rng.choice("abcdefgh") for _ in range(n)))
words = sorted(words)
rng.shuffle(words)
for name, part in (("train.jsonl", words[:2000]), ("test.jsonl", words[2000:])):
    with open(name, "w") as f:
        for i, w in enumerate(part):
            f.write(json.dumps({"id": f"{name[:-6]}-{i}", "prompt": w + ">", "answer": w[::-1], "length": len(w)}) + "\n")
