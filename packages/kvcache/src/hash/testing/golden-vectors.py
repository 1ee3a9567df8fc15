#!/usr/bin/env python3
"""Writes ../golden-vectors.json: the expected block hashes of sha256-trunc64/v1.

This is an independent implementation of the canonical encoding (hashlib +
struct, no TypeScript involved), run once by hand:

    python3 src/hash/testing/golden-vectors.py > src/hash/golden-vectors.json

Canonical bytes of one block, concatenated with no padding:
    "sigmaserve.kv.block.v1"        22 ASCII bytes, no length, no terminator
    parent                           u64 little-endian
    len(token_ids)                   u32 little-endian
    each token id                    u32 little-endian
    len(extra_keys)                  u32 little-endian
    each extra key                   u32 little-endian byte length, then its UTF-8 bytes
hash = the first 8 bytes of SHA-256(bytes), read as an unsigned big-endian u64.

Chains: the parent of block 0 is the seed; the extra keys are [model_id] on
every block, and [model_id, cache_salt] on block 0 when the salt is non-empty.
"""
import hashlib
import json
import re
import struct
import sys

TAG = b"sigmaserve.kv.block.v1"


def encode(parent, tokens, keys):
    out = bytearray(TAG)
    out += struct.pack("<Q", parent)
    out += struct.pack("<I", len(tokens))
    out += struct.pack("<%dI" % len(tokens), *tokens)
    out += struct.pack("<I", len(keys))
    for key in keys:
        raw = key.encode("utf-8")
        out += struct.pack("<I", len(raw)) + raw
    return bytes(out)


def block_hash(parent, tokens, keys):
    return int.from_bytes(hashlib.sha256(encode(parent, tokens, keys)).digest()[:8], "big")


def hex64(value):
    return "%016x" % value


def prefix(tokens, block_size, model_id, salt, seed):
    hashes, parent = [], seed
    for i in range(len(tokens) // block_size):
        keys = [model_id] + ([salt] if i == 0 and salt != "" else [])
        parent = block_hash(parent, tokens[i * block_size:(i + 1) * block_size], keys)
        hashes.append(parent)
    return hashes


U32_MAX = 2**32 - 1
U64_MAX = 2**64 - 1

PREFIX_CASES = [
    ("one block, shared namespace (empty salt)", list(range(1, 5)), 4, "llama-3-8b", "", 0),
    ("three-block chain with a partial tail that gets no hash", list(range(1, 15)), 4, "llama-3-8b", "", 0),
    ("salted tenant: same tokens as the chain above", list(range(1, 15)), 4, "llama-3-8b", "tenant-a", 0),
    ("another tenant's salt", list(range(1, 15)), 4, "llama-3-8b", "tenant-b", 0),
    ("a different model id", list(range(1, 15)), 4, "mistral-7b", "", 0),
    ("a non-zero seed", list(range(1, 15)), 4, "llama-3-8b", "", 0x0123456789ABCDEF),
    ("the largest seed, salted", [5, 6, 7, 8, 9, 10, 11, 12], 4, "llama-3-8b", "tenant-a", U64_MAX),
    ("token ids near 2^32 - 1", [U32_MAX, U32_MAX - 1, 0, 2**31, U32_MAX, 1, 2**31 - 1, 65536], 4, "llama-3-8b", "", 0),
    ("unicode model id and salt", [101, 102, 103, 104, 105, 106], 3, "模型/λ-ü 🚀", "テナント-ß-🔑", 0),
    ("the default block size of 16 over 40 tokens", [(i * 7919) % 50000 for i in range(40)], 16, "tiny-diffqkv", "", 0),
    ("fewer tokens than one block", [1, 2, 3], 4, "llama-3-8b", "tenant-a", 0),
    ("block size 1: equal tokens still chain to distinct hashes", [7, 7, 7], 1, "llama-3-8b", "", 0),
]

BLOCK_CASES = [
    ("the empty block with no extra keys", 0, [], []),
    ("a parent with distinct bytes (shows the little-endian order), extreme tokens, an empty extra key", 0xFEDCBA9876543210, [0, 1, U32_MAX], ["m", ""]),
    ("a multi-byte UTF-8 extra key", 1, [42], ["ü🚀"]),
    ("parent 2^64 - 1", U64_MAX, [1, 2, 3, 4], ["llama-3-8b"]),
]

doc = {
    "algorithm": "sha256-trunc64/v1",
    "domainTag": TAG.decode("ascii"),
    "generator": "src/hash/testing/golden-vectors.py (python3 hashlib + struct; independent of the TypeScript code)",
    "notes": "Hashes, seeds and parents are 16 lowercase hex digits (u64). cacheSalt \"\" is the shared namespace.",
    "prefixCases": [
        {
            "name": name,
            "modelId": model_id,
            "cacheSalt": salt,
            "seed": hex64(seed),
            "blockSizeTokens": block_size,
            "tokenIds": tokens,
            "expected": [hex64(h) for h in prefix(tokens, block_size, model_id, salt, seed)],
        }
        for name, tokens, block_size, model_id, salt, seed in PREFIX_CASES
    ],
    "blockCases": [
        {
            "name": name,
            "parent": hex64(parent),
            "tokenIds": tokens,
            "extraKeys": keys,
            "encodedHex": encode(parent, tokens, keys).hex(),
            "expected": hex64(block_hash(parent, tokens, keys)),
        }
        for name, parent, tokens, keys in BLOCK_CASES
    ],
}

text = json.dumps(doc, ensure_ascii=False, indent=2)
# Keep arrays of scalars on one line so a case reads at a glance.
text = re.sub(r"\[\s*([^\[\]{}]*?)\s*\]", lambda m: "[" + re.sub(r",\s+", ", ", m.group(1)) + "]", text)
sys.stdout.write(text + "\n")
