<?php
// Sessions for TestNaturalJSONMatchesPHP: each case fills $_SESSION; the
// script prints "case<TAB>handler<TAB>hex(session_encode())<TAB>json_encode($_SESSION)"
// for the php and php_serialize handlers. The cases hold only what
// json_encode() and the natural JSON rules agree on (public properties, no
// NAN/INF, no enums, no Serializable).
error_reporting(E_ALL & ~E_DEPRECATED);
class Pub { public $a = 1; public $list = ['x', 'y']; public $m = ['k' => null]; }

$cases = [
 'scalars' => function () { $_SESSION['n'] = null; $_SESSION['t'] = true; $_SESSION['f0'] = false; $_SESSION['i'] = -42;
    $_SESSION['max'] = PHP_INT_MAX; $_SESSION['f'] = 0.1 + 0.2; $_SESSION['one'] = 1.0; $_SESSION['big'] = 1e25;
    $_SESSION['tiny'] = -1.5e-7; $_SESSION['s'] = "a\0b|c;\"d/é😀\n"; $_SESSION['e'] = ''; },
 'lists' => function () { $_SESSION['l'] = [1, 'two', [3, [4]], []]; $_SESSION['empty'] = []; },
 'maps' => function () { $_SESSION['m'] = ['b' => 1, 'a' => 2, 5 => 'five', '7' => 'seven'];
    $_SESSION['holes'] = [0 => 'a', 2 => 'c']; $_SESSION['reordered'] = [1 => 'b', 0 => 'a'];
    $x = [1, 2, 3]; unset($x[1]); $_SESSION['unset'] = $x; },
 'objects' => function () { $o = new stdClass; $o->x = 1; $o->{'0'} = 'zero'; $o->nested = new stdClass;
    $_SESSION['o'] = $o; $_SESSION['p'] = new Pub; $_SESSION['eo'] = new stdClass; },
 'shared_and_refs' => function () { $o = new stdClass; $o->n = 1; $_SESSION['a'] = $o; $_SESSION['b'] = [$o, $o];
    $x = 'r'; $_SESSION['r1'] = &$x; $_SESSION['r2'] = [&$x]; },
 'cart' => function () { $_SESSION['cart'] = ['items' => [['sku' => 'A-1', 'qty' => 2, 'price' => 9.99], ['sku' => 'B', 'qty' => 1, 'price' => 10.0]], 'coupon' => null];
    $_SESSION['user'] = ['id' => 7, 'name' => 'Zoë', 'roles' => ['admin']]; },
];

$out = '';
foreach ($cases as $name => $fill) {
    foreach (['php', 'php_serialize'] as $h) {
        ini_set('session.serialize_handler', $h);
        session_id('natural' . md5($name));
        session_start();
        $_SESSION = [];
        $fill();
        $j = json_encode($_SESSION, JSON_PRESERVE_ZERO_FRACTION | JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE);
        if ($j === false) { fwrite(STDERR, "$name: " . json_last_error_msg() . "\n"); exit(1); }
        $out .= $name . "\t" . $h . "\t" . bin2hex(session_encode()) . "\t" . $j . "\n";
        session_abort();
    }
}
echo $out;
