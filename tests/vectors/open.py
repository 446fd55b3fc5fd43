"""Opens envelope values sealed by posd, the way the provider's Python stack would.

Input: a JSON file {"key": "<32-byte agent key>", "sealed": ["<base64>", ...]}.
Output (stdout): a JSON array with, for each sealed value, {"plaintext": <decrypted text>,
"value": <that text parsed by json.loads>}. Usage: python3 tests/vectors/open.py FILE
"""
import base64
import json
import sys

from Crypto.Cipher import AES
from Crypto.Util import Padding


def open_sealed(key, sealed):
    raw = base64.b64decode(sealed, validate=True)
    iv, ciphertext = raw[: AES.block_size], raw[AES.block_size :]
    padded = AES.new(key, AES.MODE_CBC, iv).decrypt(ciphertext)
    return Padding.unpad(padded, AES.block_size).decode("utf-8")


def main():
    with open(sys.argv[1], encoding="utf-8") as file:
        request = json.load(file)
    key = request["key"].encode("utf-8")
    opened = []
    for index, sealed in enumerate(request["sealed"]):
        try:
            plaintext = open_sealed(key, sealed)
            opened.append({"plaintext": plaintext, "value": json.loads(plaintext)})
        except ValueError as error:
            sys.exit(f"sealed value #{index}: {error}")
    print(json.dumps(opened))


main()
