<?php
// Generates the benchmark fixture: a Laravel-like 20-variable session with
// a 20-item cart, written by PHP's own session encoders.
// Run: php -n -d session.save_handler=files -d session.save_path=/tmp gen_bench_session.php
$cart = [];
for ($i = 1; $i <= 20; $i++) {
    $cart[] = [
        'id' => 1000 + $i,
        'name' => "Product $i",
        'qty' => ($i % 3) + 1,
        'price' => round(9.99 + $i * 1.25, 2),
        'options' => ['size' => ['S', 'M', 'L'][$i % 3]],
    ];
}
$vars = [
    '_token' => 'Xk9fQ2mR7tLp0sWvZ3yBc6dEh1jNa4uG8oIqKr5T',
    '_previous' => ['url' => 'https://shop.example.com/cart?ref=header'],
    '_flash' => ['old' => [], 'new' => []],
    'login_web_59ba36addc2b2f9401580f014c7f58ea4e30989d' => 48213,
    'password_hash_web' => '$2y$10$abcdefghijklmnopqrstuuM7u7QvHs6vWQKfSRh1EZL0d3F9ovAqm',
    'locale' => 'de_DE',
    'currency' => 'EUR',
    'cart' => $cart,
    'recently_viewed' => range(2000, 2030),
    'user' => ['id' => 48213, 'name' => 'Jane Doe', 'email' => 'jane.doe@example.com', 'roles' => ['customer', 'newsletter'], 'verified' => true],
    'last_activity' => 1732551234,
    'cart_total' => 412.35,
    'ga_data' => '{"cid":"1234567890.1732550000","sessions":3}',
    'checkout_step' => 2,
    'coupon' => null,
    'is_guest' => false,
    'shipping' => ['method' => 'dhl', 'country' => 'DE', 'zip' => '10115', 'cost' => 4.9],
    'utm' => ['source' => 'newsletter', 'medium' => 'email', 'campaign' => 'black-friday'],
    'notifications' => [['type' => 'info', 'text' => 'Free shipping over 50 EUR']],
    'trace_list_checkout' => '["cart","address","payment"]',
];
foreach (['php', 'php_serialize', 'php_binary', 'igbinary', 'msgpack'] as $h) {
    ini_set('session.serialize_handler', $h);
    session_id('benchfixture');
    session_start();
    $_SESSION = $vars;
    file_put_contents(__DIR__ . "/bench_session_$h.bin", session_encode());
    session_abort();
}
