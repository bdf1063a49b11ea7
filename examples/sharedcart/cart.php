<?php
// The PHP side of the shared-cart demo. The cart lives in the PHP session
// variable "scart_items" as JSON text (a list of {"sku","qty"} objects),
// which the Go side reads and writes through phpsession's JSON fields.
//
// CLI:  php <ini flags> cart.php SESSION_ID SKU QTY [TIMES]
//       adds QTY of SKU to the cart TIMES times (one session_start /
//       session_write_close per time, like TIMES web requests) and prints
//       the cart as JSON.
// Web:  php -S 127.0.0.1:8081 <ini flags> cart.php
//       GET /?sku=X&qty=N adds to the cart of the PHPSESSID cookie's session.
//
// ini flags (phpredis 5.3 defaults for locking):
//   -d session.save_handler=redis -d session.save_path=tcp://127.0.0.1:6379
//   -d redis.session.locking_enabled=1

function add_to_cart(string $sku, int $qty): array {
    $items = json_decode($_SESSION['scart_items'] ?? '[]', true) ?: [];
    $found = false;
    foreach ($items as &$it) {
        if ($it['sku'] === $sku) { $it['qty'] += $qty; $found = true; }
    }
    unset($it);
    if (!$found) { $items[] = ['sku' => $sku, 'qty' => $qty]; }
    $_SESSION['scart_items'] = json_encode(array_values($items));
    $_SESSION['php_requests'] = ($_SESSION['php_requests'] ?? 0) + 1;
    return $items;
}

if (PHP_SAPI === 'cli') {
    [$_, $id, $sku, $qty] = $argv + [null, null, 'php-mug', '1'];
    $times = (int)($argv[4] ?? 1);
    if ($id === null) { fwrite(STDERR, "usage: cart.php SESSION_ID [SKU QTY TIMES]\n"); exit(2); }
    $items = [];
    for ($i = 0; $i < $times; $i++) {
        session_id($id);
        if (!session_start()) { fwrite(STDERR, "session_start failed\n"); exit(1); }
        $items = add_to_cart($sku, (int)$qty);
        session_write_close();
    }
    echo json_encode($items), "\n";
    exit(0);
}

session_start();
if (isset($_GET['sku'])) {
    add_to_cart($_GET['sku'], (int)($_GET['qty'] ?? 1));
}
header('Content-Type: application/json');
echo json_encode([
    'session' => session_id(),
    'cart' => json_decode($_SESSION['scart_items'] ?? '[]', true),
    'go_requests' => $_SESSION['go_requests'] ?? 0,
    'php_requests' => $_SESSION['php_requests'] ?? 0,
]), "\n";
