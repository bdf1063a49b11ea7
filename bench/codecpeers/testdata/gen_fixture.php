<?php
// Generates the benchmark fixture: a Laravel-like PHP session with 20
// top-level keys (~4 KB), written by PHP's own session serializers.
// Run: php gen_fixture.php   (writes session_php.bin, session_php_serialize.bin,
// session_php_binary.bin beside this script)
mt_srand(42);
$s = [];
$s['_token'] = 'k9XWq1m0ZbTtV3pUuYcA2hR8sLdNfGeJ7iOoPw4E';
$s['_previous'] = ['url' => 'https://shop.example.com/cart?ref=header'];
$s['_flash'] = ['old' => [], 'new' => []];
$s['login_web_59ba36addc2b2f9401580f014c7f58ea4e30989d'] = 18231;
$s['user'] = [
    'id' => 18231, 'name' => 'Ada Lovelace', 'email' => 'ada@example.com',
    'roles' => ['customer', 'beta'], 'verified' => true, 'score' => 4.75,
    'prefs' => ['lang' => 'en', 'currency' => 'EUR', 'newsletter' => false, 'theme' => null],
];
$cart = [];
for ($i = 0; $i < 16; $i++) {
    $cart[] = [
        'sku' => sprintf('SKU-%05d', mt_rand(0, 99999)),
        'name' => 'Product ' . $i . ' ' . str_repeat("x", mt_rand(1, 4)),
        'qty' => mt_rand(1, 5),
        'price' => mt_rand(100, 99999) / 100,
        'options' => ['color' => ['red', 'blue', 'green'][mt_rand(0, 2)], 'size' => mt_rand(36, 46)],
    ];
}
$s['cart'] = $cart;
$s['cart_total'] = array_sum(array_map(fn($c) => $c['qty'] * $c['price'], $cart));
$s['recent_ids'] = range(1000, 1030);
$s['locale'] = 'en_GB';
$s['currency'] = 'EUR';
$s['last_activity'] = 1764111600;
$s['ua'] = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36';
$s['csrf_tokens'] = ['checkout' => bin2hex('fixedfixedfixed1'), 'profile' => 'a1b2c3d4e5f6'];
$s['ab_tests'] = ['header_v2' => 'B', 'checkout_flow' => 'A', 7 => 'numeric-key'];
$s['wishlist'] = [101, 202, 303, 404];
$s['coupon'] = null;
$s['is_admin'] = false;
$s['visits'] = 42;
$s['geo'] = ['lat' => 51.5074, 'lon' => -0.1278, 'city' => 'London'];
$s['msg'] = "multi\nline \"quoted\" text; with | pipe";
if (count($s) != 20) { fwrite(STDERR, "want 20 keys, have " . count($s) . "\n"); exit(1); }
$dir = __DIR__;
foreach (['php', 'php_serialize', 'php_binary'] as $h) {
    ini_set('session.serialize_handler', $h);
    ini_set('session.save_path', sys_get_temp_dir());
    ini_set('session.use_cookies', '0');
    session_id('benchfixture' . str_replace('_', '', $h));
    @session_start();
    $_SESSION = $s;
    $b = session_encode();
    session_abort();
    file_put_contents("$dir/session_$h.bin", $b);
    fwrite(STDERR, "$h " . strlen($b) . "\n");
}
