<?php
// Random sessions for TestPHPInteropRandom: prints
// "case<TAB>handler<TAB>hex(session_encode())" for N random sessions under
// php, php_binary and php_serialize. Usage: php interop_random.php SEED N
error_reporting(E_ALL & ~E_DEPRECATED);
class User { public $pub = 1; protected $prot = 2; private $priv = 3; }
enum Suit { case Hearts; case Spades; }
class Magic { private $data; function __construct($d = null) { $this->data = $d; }
    function __serialize(): array { return ['d' => $this->data, 5 => 'five']; }
    function __unserialize(array $a): void { $this->data = $a['d']; } }
class RawLegacy implements Serializable { public $d; function __construct($d = '') { $this->d = $d; }
    function serialize() { return $this->d; } function unserialize($s) { $this->d = $s; } }
class Legacy implements Serializable { public $v; function __construct($v = null) { $this->v = $v; }
    function serialize() { return serialize($this->v); } function unserialize($s) { $this->v = unserialize($s); } }

mt_srand((int)$argv[1]);
$n = (int)$argv[2];
$pool = []; // objects to share

function rstr() {
    $len = mt_rand(0, 3) == 0 ? mt_rand(0, 40) : mt_rand(0, 8);
    $s = '';
    for ($i = 0; $i < $len; $i++) {
        $s .= mt_rand(0, 4) == 0 ? chr(mt_rand(0, 255)) : chr(mt_rand(32, 126));
    }
    return $s;
}
function rfloat() {
    switch (mt_rand(0, 4)) {
        case 0: return unpack('e', pack('VV', mt_rand(0, 0x7fffffff) * 2 + mt_rand(0, 1), mt_rand(0, 0x7fffffff) * 2 + mt_rand(0, 1)))[1];
        case 1: return mt_rand() / mt_getrandmax() * pow(10, mt_rand(-8, 20));
        case 2: return (float)mt_rand(-1000, 1000);
        case 3: return mt_rand(0, 99999) / 100;
        default: return [INF, -INF, -0.0, 0.1 + 0.2, 1e17, 1e-5][mt_rand(0, 5)];
    }
}
function rkey() {
    switch (mt_rand(0, 5)) {
        case 0: return mt_rand(-5, 50);
        case 1: return (string)mt_rand(-100, 100);
        case 2: return '0' . mt_rand(0, 9);
        default: return rstr();
    }
}
function rval($depth) {
    global $pool;
    $t = mt_rand(0, $depth > 3 ? 6 : 10);
    switch ($t) {
        case 0: return null;
        case 1: return (bool)mt_rand(0, 1);
        case 2: return mt_rand(0, 3) == 0 ? PHP_INT_MIN + mt_rand(0, 5) : mt_rand(-100000, 100000);
        case 3: return rfloat();
        case 4: case 5: return rstr();
        case 6: return [Suit::Hearts, Suit::Spades][mt_rand(0, 1)];
        case 7: case 8:
            $a = [];
            $m = mt_rand(0, 6);
            for ($i = 0; $i < $m; $i++) {
                if (mt_rand(0, 1)) { $a[] = rval($depth + 1); } else { $a[rkey()] = rval($depth + 1); }
            }
            if (count($a) >= 2 && mt_rand(0, 3) == 0) {
                // a reference between two elements
                $ks = array_keys($a);
                $a[$ks[count($ks) - 1]] = &$a[$ks[0]];
            }
            return $a;
        case 9:
            if ($pool && mt_rand(0, 1)) { return $pool[mt_rand(0, count($pool) - 1)]; }
            if (mt_rand(0, 6) == 0) {
                $o = new Magic(rval($depth + 1));
                $pool[] = $o;
                return $o;
            }
            if (mt_rand(0, 6) == 0) {
                // payload returned verbatim: PHP numbers nothing inside it
                $o = new RawLegacy(['N;', 'i:5;', 'b:1;', 'a:0:{}', rstr()][mt_rand(0, 4)]);
                $pool[] = $o;
                return $o;
            }
            if (mt_rand(0, 4) == 0) {
                $o = new Legacy(rval($depth + 1));
                $pool[] = $o;
                return $o;
            }
            $o = mt_rand(0, 2) ? new stdClass : new User;
            $m = mt_rand(0, 3);
            for ($i = 0; $i < $m; $i++) { $o->{'p' . mt_rand(0, 5)} = rval($depth + 1); }
            if (mt_rand(0, 5) == 0) { $o->r = &$o->pub; }
            $pool[] = $o;
            return $o;
        default:
            if ($pool) { return $pool[mt_rand(0, count($pool) - 1)]; }
            return null;
    }
}

$out = '';
for ($c = 0; $c < $n; $c++) {
    $pool = [];
    mt_srand((int)$argv[1] * 1000 + $c);
    $names = [];
    $vals = [];
    $m = mt_rand(1, 8);
    for ($i = 0; $i < $m; $i++) {
        $odd = ['', "!x$i", "a\0b$i"][mt_rand(0, 2)];
        $names[] = mt_rand(0, 15) == 0 ? $odd : 'v' . $i . (mt_rand(0, 3) == 0 ? rstr() : '');
    }
    foreach (['php', 'php_binary', 'php_serialize'] as $h) {
        mt_srand((int)$argv[1] * 1000 + $c + 7);
        $pool = [];
        ini_set('session.serialize_handler', $h);
        session_id('rnd' . $c);
        session_start();
        $_SESSION = [];
        $refs = [];
        foreach ($names as $name) {
            if (strpos($name, '|') !== false || strlen($name) > 127) { $name = 'x' . md5($name); }
            if ($refs && mt_rand(0, 5) == 0) {
                $k = $refs[mt_rand(0, count($refs) - 1)];
                $_SESSION[$name] = &$_SESSION[$k];
            } else {
                $_SESSION[$name] = rval(0);
                if (mt_rand(0, 3) == 0 && is_array($_SESSION[$name]) && $_SESSION[$name]) {
                    $keys = array_keys($_SESSION[$name]);
                    $_SESSION[$name][$keys[0]] = &$_SESSION[$name];
                }
            }
            $refs[] = $name;
        }
        $out .= $c . "\t" . $h . "\t" . bin2hex(session_encode()) . "\n";
        session_abort();
    }
}
echo $out;
