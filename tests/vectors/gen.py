"""Envelope test vectors from Python, encoded the way the provider's Python sample does it.

json.dumps(separators=(',', ':')) keeps '/' as is and escapes non-ASCII as \\uXXXX
(ensure_ascii); pycryptodome does AES-256-CBC with PKCS#7 padding. The IVs are fixed so
that the output is reproducible. Usage: python3 tests/vectors/gen.py > tests/vectors/python.json
"""
import base64
import json
import platform
import sys

import Crypto
from Crypto.Cipher import AES
from Crypto.Util import Padding

KEY = "2MrhtRYeF9wKZ4bKwzZoL8aZf26pWzIG"
ORDER_ID = "POS-20261126-000123"


def offline_transaction():
    """An offline scan-to-pay `api/transaction` request, with Chinese item names, a URL and
    an emoji (a character outside the BMP, escaped as a surrogate pair)."""
    return {
        "store_uid": "289151880002",
        "items": [
            {"id": "1", "name": "珍珠奶茶（大）", "cost": "65", "amount": "2", "total": "130"},
            {"id": "2", "name": "鹽酥雞🍗", "cost": "80", "amount": "1", "total": "80"},
        ],
        "cost": "210",
        "user_id": "till-0001",
        "order_id": ORDER_ID,
        "ip": "192.0.2.15",
        "pfn": "OFFLINE",
        "data_json": encode({"qrCode": "MY13697573pbmQsYhY"}),
        "echo_0": "https://pos.example.tw/orders/" + ORDER_ID + "?lane=1&mode=scan",
    }


def encode(fields):
    return json.dumps(fields, separators=(",", ":"))


def seal(plaintext, iv):
    cipher = AES.new(KEY.encode("utf-8"), AES.MODE_CBC, iv)
    ciphertext = cipher.encrypt(Padding.pad(plaintext, AES.block_size))
    return base64.b64encode(iv + ciphertext).decode("ascii")


def vector(name, field, iv_hex, fields):
    plaintext = encode(fields)
    return {
        "name": name,
        "field": field,
        "iv": iv_hex,
        "plaintext": plaintext,
        "sealed": seal(plaintext.encode("utf-8"), bytes.fromhex(iv_hex)),
    }


def main():
    vectors = [
        vector("service", "service", "000102030405060708090a0b0c0d0e0f",
               {"service_name": "api", "cmd": "api/transaction"}),
        vector("offline_transaction", "encry_data", "f0e1d2c3b4a5968778695a4b3c2d1e0f",
               offline_transaction()),
        vector("full_padding_block", "encry_data", "5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a",
               {"store_uid": "289151880002", "order_id": ORDER_ID,
                "user_id": "till-0001", "cost": "210"}),
    ]
    full_block = vectors[2]["plaintext"].encode("utf-8")
    if len(full_block) % AES.block_size != 0:
        sys.exit(f"full_padding_block is {len(full_block)} bytes, not a multiple of 16")
    document = {
        "generator": f"Python {platform.python_version()} json.dumps, pycryptodome {Crypto.__version__}",
        "key": KEY,
        "vectors": vectors,
    }
    print(json.dumps(document, indent=4, ensure_ascii=False))


main()
