<?php
/**
 * Opens envelope values sealed by posd, the way the provider's PHP stack would.
 *
 * Input: a JSON file {"key": "<32-byte agent key>", "sealed": ["<base64>", ...]}.
 * Output (stdout): a JSON array with, for each sealed value, {"plaintext": <decrypted text>,
 * "value": <that text parsed by json_decode>}. Usage: php tests/vectors/open.php FILE
 */

function fail(string $message): void
{
    fwrite(STDERR, $message . "\n");
    exit(1);
}

$request = json_decode(file_get_contents($argv[1]), true, 512, JSON_THROW_ON_ERROR);
$opened = [];
foreach ($request['sealed'] as $index => $sealed) {
    $raw = base64_decode($sealed, true);
    if ($raw === false) {
        fail("sealed value #$index: not valid base64");
    }
    $plaintext = openssl_decrypt(substr($raw, 16), 'AES-256-CBC', $request['key'], OPENSSL_RAW_DATA, substr($raw, 0, 16));
    if ($plaintext === false) {
        fail("sealed value #$index: openssl_decrypt failed: " . openssl_error_string());
    }
    try {
        $value = json_decode($plaintext, true, 512, JSON_THROW_ON_ERROR);
    } catch (JsonException $error) {
        fail("sealed value #$index: not JSON: " . $error->getMessage());
    }
    $opened[] = ['plaintext' => $plaintext, 'value' => $value];
}
echo json_encode($opened, JSON_THROW_ON_ERROR), "\n";
