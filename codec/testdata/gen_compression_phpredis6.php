<?php
// Captures phpredis 6.x compressed session vectors: every serializer ×
// every redis.session.compression × several levels × several session
// sizes. Run by scripts/capture-phpredis6-vectors.sh with the locally built
// phpredis 6 (php -n -d extension=igbinary -d extension=msgpack
// -d extension=.../redis.so) and a throwaway redis-server:
//
//   php ... gen_compression_phpredis6.php PORT OUT.json
//
// For each case it starts a session through the phpredis handler, fills
// $_SESSION, records session_encode() (plain) and serialize($_SESSION)
// (values), closes the session, fetches the raw stored bytes with GET, and
// starts the session again to check that phpredis reads it back.
[$port, $out] = [(int)$argv[1], $argv[2]];

function sessions(): array {
    mt_srand(20261203);
    $rand = '';
    for ($i = 0; $i < 1024; $i++) $rand .= chr(mt_rand(0, 255));
    $cart = [];
    for ($i = 0; $i < 20; $i++) {
        $cart[] = ['sku' => sprintf('SKU-%05d', $i * 37), 'qty' => $i % 4 + 1,
                   'price' => round(9.99 + $i * 1.25, 2), 'title' => "Product number $i, colour " . ['red', 'green', 'blue'][$i % 3]];
    }
    $words = explode(' ', 'lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor incididunt ut labore et dolore magna aliqua');
    $text = '';
    for ($i = 0; strlen($text) < 12000; $i++) $text .= $words[($i * 7 + intdiv($i, 5)) % count($words)] . ' ';
    return [
        // phpredis 6.1 has no minimum size for compression: empty data is
        // stored as it is (lz4 skips it, lzf cannot compress it, zstd
        // writes an empty frame), anything else is compressed.
        'empty' => [],
        'tiny' => ['n' => 1],
        'small' => ['user' => ['id' => 42, 'name' => 'Ada Lovelace', 'roles' => ['admin', 'editor']], 'csrf' => 'a1b2c3d4e5f6', 'ok' => true],
        'medium' => ['cart' => $cart, 'currency' => 'EUR', 'visits' => range(1, 31), 'ratio' => 0.1],
        'large' => ['text' => $text, 'ids' => range(1000, 1600)],
        'random' => ['blob' => $rand, 'n' => -7],
    ];
}

$serializers = ['php', 'php_serialize', 'php_binary', 'igbinary', 'msgpack'];
$compressions = [
    'none' => [0],
    'lzf' => [3],
    'zstd' => [-1, 1, 3, 9, 19, 22],
    'lz4' => [-1, 1, 3, 9, 12, 13],
];

$raw = new Redis();
$raw->connect('127.0.0.1', $port);
ini_set('session.save_handler', 'redis');
ini_set('session.save_path', "tcp://127.0.0.1:$port?prefix=CAP:");
ini_set('session.use_cookies', '0');
ini_set('session.use_strict_mode', '0');
ini_set('session.cache_limiter', '');
ini_set('serialize_precision', '-1');
if (defined('Redis::COMPRESSION_LZ4') === false) { fwrite(STDERR, "this phpredis lacks lz4\n"); exit(1); }

$res = ['generated_with' => sprintf('PHP %s, phpredis %s (built from source with liblzf, libzstd %s, liblz4), igbinary %s, msgpack %s',
            PHP_VERSION, phpversion('redis'), function_exists('zstd_version') ? zstd_version() : 'system',
            phpversion('igbinary'), phpversion('msgpack')),
        'plain' => [], 'values' => [], 'vectors' => []];
$n = 0;
foreach (sessions() as $name => $vars) {
    $res['values'][$name] = bin2hex(serialize($vars));
}
foreach ($serializers as $ser) {
    foreach ($compressions as $comp => $levels) {
        foreach ($levels as $level) {
            foreach (sessions() as $name => $vars) {
                $id = 'cap' . (++$n);
                ini_set('session.serialize_handler', $ser);
                ini_set('redis.session.compression', $comp);
                ini_set('redis.session.compression_level', (string)$level);
                session_id($id);
                session_start();
                foreach ($vars as $k => $v) $_SESSION[$k] = $v;
                $plain = session_encode();
                $values = serialize($_SESSION);
                session_write_close();
                $stored = $raw->get("CAP:$id");
                $_SESSION = [];
                session_id($id);
                session_start();
                $back = serialize($_SESSION);
                session_write_close();
                $raw->del("CAP:$id");
                if ($values !== hex2bin($res['values'][$name])) {
                    fwrite(STDERR, "$ser/$name: values differ from the session's definition\n");
                    exit(1);
                }
                $res['plain']["$ser/$name"] = bin2hex($plain);
                $res['vectors'][] = [
                    'serializer' => $ser, 'compression' => $comp, 'level' => $level, 'session' => $name,
                    'stored_hex' => $stored === false ? null : bin2hex($stored),
                    'read_back' => $back === $values,
                ];
            }
        }
    }
}
file_put_contents($out, json_encode($res, JSON_PRETTY_PRINT | JSON_UNESCAPED_SLASHES) . "\n");
fwrite(STDERR, count($res['vectors']) . " vectors written to $out\n");
