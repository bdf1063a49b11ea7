<?php
// Session graphs for TestPHPInterop: each case fills $_SESSION; the script
// prints "case<TAB>handler<TAB>hex(session_encode())" for php, php_binary
// and php_serialize.
error_reporting(E_ALL & ~E_DEPRECATED);
class User { public $pub = 1; protected $prot = 2; private $priv = 3; }
class Child extends User { private $priv = 'child-private'; public $extra = [1]; }
class Magic { private $data; function __construct($d = null) { $this->data = $d; }
    function __serialize(): array { return ['d' => $this->data, 5 => 'five']; }
    function __unserialize(array $a): void { $this->data = $a['d']; } }
class Legacy implements Serializable { public $v; function __construct($v = null) { $this->v = $v; }
    function serialize() { return serialize($this->v); } function unserialize($s) { $this->v = unserialize($s); } }
enum Suit { case Hearts; case Spades; }
enum Status: string { case Active = 'active'; case Off = 'off'; }

$cases = [
 'scalars' => function () { $_SESSION['n'] = null; $_SESSION['t'] = true; $_SESSION['i'] = -42; $_SESSION['f'] = 0.1 + 0.2;
    $_SESSION['big'] = 1e25; $_SESSION['tiny'] = -1.5e-7; $_SESSION['s'] = "a\0b|c;\"d"; $_SESSION['e'] = ''; },
 'ref_scalar' => function () { $x = 1; $_SESSION['a'] = &$x; $_SESSION['b'] = &$x; $_SESSION['c'] = [&$x, 2]; },
 'shared_object' => function () { $o = new stdClass; $o->n = 1; $_SESSION['a'] = $o; $_SESSION['b'] = $o; $_SESSION['c'] = [$o, [$o]]; },
 'self_cycle' => function () { $o = new stdClass; $o->self = $o; $o->list = [$o]; $_SESSION['v'] = $o; },
 'recursive_array' => function () { $a = [1]; $a[1] = &$a; $_SESSION['v'] = $a; $_SESSION['w'] = 2; },
 'ref_to_object' => function () { $o = new stdClass; $_SESSION['a'] = &$o; $_SESSION['b'] = &$o; $_SESSION['c'] = $o; },
 'legacy_nested' => function () { $o = new stdClass; $_SESSION['l'] = new Legacy([1, 'two', [3]]); $_SESSION['o'] = $o; $_SESSION['p'] = $o; $x = 5; $_SESSION['r1'] = &$x; $_SESSION['r2'] = &$x; },
 'legacy_backref' => function () { $o = new stdClass; $_SESSION['o'] = $o; $_SESSION['l'] = new Legacy($o); $_SESSION['after'] = [$o]; },
 'enums' => function () { $_SESSION['a'] = Suit::Spades; $_SESSION['b'] = [Suit::Spades, Suit::Hearts, Suit::Spades]; $_SESSION['c'] = Status::Active; },
 'visibility' => function () { $_SESSION['u'] = new User; $_SESSION['c'] = new Child; $_SESSION['m'] = new Magic(new User); },
 'keys' => function () { $_SESSION['a'] = ['5' => 1, '05' => 2, '-7' => 3, '9223372036854775808' => 4, 'x' => 5, 10 => 6]; $_SESSION['a'][] = 7; },
 'spl' => function () { $_SESSION['ao'] = new ArrayObject([1, 2]); $_SESSION['dt'] = new DateTimeImmutable('2024-01-02 03:04:05.678901', new DateTimeZone('UTC')); $_SESSION['st'] = new SplObjectStorage; },
 'cross_entry_in_array' => function () { $o = new stdClass; $o->x = [1, 2]; $_SESSION['list'] = [1, $o, 'z']; $_SESSION['again'] = $o; $y = 'r'; $_SESSION['list2'] = [&$y]; $_SESSION['yy'] = &$y; },
 'many' => function () { for ($i = 0; $i < 40; $i++) { $_SESSION["k$i"] = ($i % 3 == 0) ? ['i' => $i, 'f' => $i / 7, 'l' => range(0, $i % 5)] : "v$i"; } },
];

$out = '';
foreach ($cases as $name => $fill) {
    foreach (['php', 'php_binary', 'php_serialize'] as $h) {
        ini_set('session.serialize_handler', $h);
        session_id('interop' . md5($name));
        session_start();
        $_SESSION = [];
        $fill();
        $out .= $name . "\t" . $h . "\t" . bin2hex(session_encode()) . "\n";
        session_abort();
    }
}
echo $out;
