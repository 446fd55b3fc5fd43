<?php
/**
 * Envelope test vectors from PHP, encoded the way the provider's PHP sample does it.
 *
 * json_encode() with its default flags escapes '/' as '\/' and non-ASCII as \uXXXX;
 * openssl_encrypt() does AES-256-CBC with PKCS#7 padding. The IVs are fixed so that the
 * output is reproducible. Usage: php tests/vectors/gen.php > tests/vectors/php.json
 */

const KEY = '2MrhtRYeF9wKZ4bKwzZoL8aZf26pWzIG';
const ORDER_ID = 'POS-20261126-000123';

/**
 * An offline scan-to-pay `api/transaction` request, with Chinese item names, a URL and an
 * emoji (a character outside the BMP, escaped as a surrogate pair).
 */
function offline_transaction(): array
{
    return [
        'store_uid' => '289151880002',
        'items' => [
            ['id' => '1', 'name' => '珍珠奶茶（大）', 'cost' => '65', 'amount' => '2', 'total' => '130'],
            ['id' => '2', 'name' => '鹽酥雞🍗', 'cost' => '80', 'amount' => '1', 'total' => '80'],
        ],
        'cost' => '210',
        'user_id' => 'till-0001',
        'order_id' => ORDER_ID,
        'ip' => '192.0.2.15',
        'pfn' => 'OFFLINE',
        'data_json' => json_encode(['qrCode' => 'MY13697573pbmQsYhY']),
        'echo_0' => 'https://pos.example.tw/orders/' . ORDER_ID . '?lane=1&mode=scan',
    ];
}

function seal(string $plaintext, string $iv): string
{
    $ciphertext = openssl_encrypt($plaintext, 'AES-256-CBC', KEY, OPENSSL_RAW_DATA, $iv);
    if ($ciphertext === false) {
        fwrite(STDERR, "openssl_encrypt failed: " . openssl_error_string() . "\n");
        exit(1);
    }
    return base64_encode($iv . $ciphertext);
}

function vector(string $name, string $field, string $iv_hex, array $fields): array
{
    $plaintext = json_encode($fields);
    return [
        'name' => $name,
        'field' => $field,
        'iv' => $iv_hex,
        'plaintext' => $plaintext,
        'sealed' => seal($plaintext, hex2bin($iv_hex)),
    ];
}

$vectors = [
    vector('service', 'service', '000102030405060708090a0b0c0d0e0f',
        ['service_name' => 'api', 'cmd' => 'api/transaction']),
    vector('offline_transaction', 'encry_data', 'f0e1d2c3b4a5968778695a4b3c2d1e0f',
        offline_transaction()),
    vector('full_padding_block', 'encry_data', '5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a',
        ['store_uid' => '289151880002', 'order_id' => ORDER_ID, 'user_id' => 'till-0001', 'cost' => '210']),
];
$full_block_len = strlen($vectors[2]['plaintext']);
if ($full_block_len % 16 !== 0) {
    fwrite(STDERR, "full_padding_block is $full_block_len bytes, not a multiple of 16\n");
    exit(1);
}

$document = [
    'generator' => 'PHP ' . PHP_VERSION . ' json_encode, openssl_encrypt (' . OPENSSL_VERSION_TEXT . ')',
    'key' => KEY,
    'vectors' => $vectors,
];
echo json_encode($document, JSON_PRETTY_PRINT | JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE), "\n";
