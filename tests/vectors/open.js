// Opens envelope values sealed by posd, the way the provider's Node.js stack would.
//
// Input: a JSON file {"key": "<32-byte agent key>", "sealed": ["<base64>", ...]}.
// Output (stdout): a JSON array with, for each sealed value, {"plaintext": <decrypted text>,
// "value": <that text parsed by JSON.parse>}. Usage: node tests/vectors/open.js FILE
'use strict';

const crypto = require('crypto');
const fs = require('fs');

function openSealed(key, sealed) {
    const raw = Buffer.from(sealed, 'base64');
    const decipher = crypto.createDecipheriv('aes-256-cbc', key, raw.subarray(0, 16));
    const plaintext = Buffer.concat([decipher.update(raw.subarray(16)), decipher.final()]);
    // A fatal decoder, so that invalid UTF-8 is an error rather than U+FFFD.
    return new TextDecoder('utf-8', { fatal: true }).decode(plaintext);
}

const request = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const opened = request.sealed.map((sealed, index) => {
    try {
        const plaintext = openSealed(request.key, sealed);
        return { plaintext, value: JSON.parse(plaintext) };
    } catch (error) {
        process.stderr.write(`sealed value #${index}: ${error.message}\n`);
        process.exit(1);
    }
});
process.stdout.write(JSON.stringify(opened) + '\n');
