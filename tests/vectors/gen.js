// Envelope test vectors from Node.js, encoded the way the provider's Node sample does it.
//
// JSON.stringify() keeps '/' and non-ASCII characters as they are (UTF-8 on the wire);
// crypto.createCipheriv('aes-256-cbc') does PKCS#7 padding. The IVs are fixed so that the
// output is reproducible. Usage: node tests/vectors/gen.js > tests/vectors/node.json
'use strict';

const crypto = require('crypto');

const KEY = '2MrhtRYeF9wKZ4bKwzZoL8aZf26pWzIG';
const ORDER_ID = 'POS-20261126-000123';

// An offline scan-to-pay `api/transaction` request, with Chinese item names, a URL and an
// emoji (a character outside the BMP).
function offlineTransaction() {
    return {
        store_uid: '289151880002',
        items: [
            { id: '1', name: '珍珠奶茶（大）', cost: '65', amount: '2', total: '130' },
            { id: '2', name: '鹽酥雞🍗', cost: '80', amount: '1', total: '80' },
        ],
        cost: '210',
        user_id: 'till-0001',
        order_id: ORDER_ID,
        ip: '192.0.2.15',
        pfn: 'OFFLINE',
        data_json: JSON.stringify({ qrCode: 'MY13697573pbmQsYhY' }),
        echo_0: 'https://pos.example.tw/orders/' + ORDER_ID + '?lane=1&mode=scan',
    };
}

function seal(plaintext, iv) {
    const cipher = crypto.createCipheriv('aes-256-cbc', KEY, iv);
    const ciphertext = Buffer.concat([cipher.update(Buffer.from(plaintext, 'utf8')), cipher.final()]);
    return Buffer.concat([iv, ciphertext]).toString('base64');
}

function vector(name, field, ivHex, fields) {
    const plaintext = JSON.stringify(fields);
    return { name, field, iv: ivHex, plaintext, sealed: seal(plaintext, Buffer.from(ivHex, 'hex')) };
}

const vectors = [
    vector('service', 'service', '000102030405060708090a0b0c0d0e0f',
        { service_name: 'api', cmd: 'api/transaction' }),
    vector('offline_transaction', 'encry_data', 'f0e1d2c3b4a5968778695a4b3c2d1e0f',
        offlineTransaction()),
    vector('full_padding_block', 'encry_data', '5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a',
        { store_uid: '289151880002', order_id: ORDER_ID, user_id: 'till-0001', cost: '210' }),
];
const fullBlockLen = Buffer.byteLength(vectors[2].plaintext, 'utf8');
if (fullBlockLen % 16 !== 0) {
    process.stderr.write(`full_padding_block is ${fullBlockLen} bytes, not a multiple of 16\n`);
    process.exit(1);
}

const document = {
    generator: `Node.js ${process.version} JSON.stringify, crypto (OpenSSL ${process.versions.openssl})`,
    key: KEY,
    vectors,
};
process.stdout.write(JSON.stringify(document, null, 4) + '\n');
