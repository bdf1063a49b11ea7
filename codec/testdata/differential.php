<?php
// Differential test data for TestDifferentialPHP (differential_test.go).
// Usage: php differential.php SEED COUNT OUTFILE
//    or: php differential.php cases - OUTFILE   (the sessions of $CASES)
//
// For each of COUNT random sessions (seeded by SEED), under each of the
// five serializers: PHP builds the session (same values, rebuilt per
// serializer), session_encode() gives its bytes; then, for each
// serializer's bytes, a forked child reads them with session_decode() as
// a new request does and writes them back with session_encode() under
// every serializer. A child that PHP crashes in (msgpack does on some of
// its own references) or that PHP warns in is recorded as such.
//
// OUTFILE gets one JSON line per session:
//   {"i":N, "enc":{h: hex}, "conv":{h: {"ok":bool, "err":"...", "to":{h2: hex}}}}
require __DIR__ . '/interop_common.php';
ini_set('display_errors', 'stderr');
[$_, $seed, $count, $outFile] = $argv;
$cases = $seed === 'cases';
$seed = (int)$seed; $count = (int)$count;
const HANDLERS = ['php', 'php_binary', 'php_serialize', 'igbinary', 'msgpack'];

// __sleep classes: a subset of the properties, of each visibility.
class Sleepy {
    public $a; protected $b; private $c; public $skip = 'skipped';
    public function __construct($a = null, $b = null, $c = null) { $this->a = $a; $this->b = $b; $this->c = $c; }
    public function __sleep() { return ['a', 'b', 'c']; }
    public function __wakeup() {}
}
class SleepyChild extends Sleepy {
    private $c; public $d;
    public function __construct($a = null, $b = null, $c = null, $c2 = null, $d = null) { parent::__construct($a, $b, $c); $this->c = $c2; $this->d = $d; }
    // "\0Sleepy\0c" names the parent's private property.
    public function __sleep() { return ['d', 'c', "\0Sleepy\0c", 'a']; }
}

// Framed returns a length-prefixed payload (never serialize() text: it
// starts with "L") and reads back exactly that many bytes: PHP's msgpack
// extension hands unserialize() the payload with a NUL byte appended, which
// a class storing its payload verbatim would keep (see doc.go).
class Framed implements Serializable {
    public $d;
    public function __construct($d = '') { $this->d = $d; }
    public function serialize() { return 'L' . strlen($this->d) . ':' . $this->d; }
    public function unserialize($s) { [$n, $rest] = explode(':', substr($s, 1), 2); $this->d = substr($rest, 0, (int)$n); }
}

$G = [];

function r_bytes($n) { $s = ''; for ($i = 0; $i < $n; $i++) $s .= chr(mt_rand(0, 255)); return $s; }
function r_float() {
    static $edge = [0.0, -0.0, 0.1, 0.5, 1.0, -1.5, 1e15, 1e16, 1e17, 1.0E+25, 123456789012345678.0,
        1e-4, 1e-5, -1.25e-5, 5e-324, 2.2250738585072014E-308, 1.7976931348623157E+308, INF, -INF, NAN,
        0.30000000000000004, 100.0, 1e21, -0.0001, 4.35, 9007199254740993.0, 1e100, 0.1e-300];
    switch (mt_rand(0, 3)) {
        case 0: return $edge[mt_rand(0, count($edge) - 1)];
        case 1: return mt_rand() / mt_getrandmax() * (10 ** mt_rand(-8, 25)) * (mt_rand(0, 1) ? 1 : -1);
        case 2: return (float)mt_rand(-100000, 100000) / 64;
        // random bit patterns (NaN payloads and subnormals included)
        default: return unpack('E', pack('J', (mt_rand(0, 0x7fffffff) << 32 | mt_rand(0, 0x7fffffff) << 1 | mt_rand(0, 1)) ^ (mt_rand(0, 1) << 63)))[1];
    }
}
function r_int() {
    static $edge = [0, 1, -1, PHP_INT_MAX, PHP_INT_MIN, 127, 128, -32, -33, 255, 256, -128, -129, 65535, 65536,
        -32768, -32769, 4294967295, 4294967296, 2147483648, -2147483649, PHP_INT_MIN + 1];
    switch (mt_rand(0, 2)) {
        case 0: return mt_rand(-100, 100);
        case 1: return $edge[mt_rand(0, count($edge) - 1)];
        default: return (mt_rand() << 33) ^ (mt_rand() << 2) ^ mt_rand(0, 3) ^ (mt_rand(0, 1) ? PHP_INT_MIN : 0);
    }
}
function r_string() {
    switch (mt_rand(0, 7)) {
        case 0: return '';
        case 1: return r_bytes(mt_rand(1, 40));
        case 2: return r_bytes(mt_rand(250, 300)); // around igbinary's/msgpack's length classes
        case 3: return ['123', '0123', '-0', '-12', ' 1', '1.5', '9223372036854775807', '9223372036854775808',
            'INF', 'N;', 'a:0:{}', 'R:1;', '|', "\0", '-9223372036854775808', '1e3'][mt_rand(0, 15)];
        case 4: return "quote\"semi;pipe|brace}{nul\0back\\slash";
        case 5: return "h\u{e9}llo w\u{f6}rld \u{1F600}";
        case 6: return ['a', 'b', 'shared', 'key'][mt_rand(0, 3)]; // repeated strings (igbinary's string table)
        default: return substr(str_shuffle('abcdefghijklmnopqrstuvwxyz_0123456789'), 0, mt_rand(1, 20));
    }
}
function r_key() {
    switch (mt_rand(0, 6)) {
        case 0: return mt_rand(-5, 50);
        case 1: return ['7', '-12', '0123', '-0', '1.5', '9223372036854775807', '9223372036854775808',
            '-9223372036854775808', '-9223372036854775809', ' 3', '3 ', '', '00', '0'][mt_rand(0, 13)];
        case 2: return r_bytes(mt_rand(0, 6));
        case 3: return [PHP_INT_MIN, PHP_INT_MAX, -1, 0][mt_rand(0, 3)];
        case 4: return '';
        default: return substr(str_shuffle('abcdefghijklmnopqrstuvwxyz'), 0, mt_rand(1, 8));
    }
}
function r_value($d) {
    global $G;
    $max = $d > 4 ? 6 : 16;
    switch (mt_rand(0, $max)) {
        case 0: return null;
        case 1: return (bool)mt_rand(0, 1);
        case 2: case 3: return r_int();
        case 4: return r_float();
        case 5: case 6: return r_string();
        case 7: case 8: case 9: return r_array($d + 1);
        case 10: case 11: return r_object($d + 1);
        case 12: if (!$G['enums']) return r_int();
            return mt_rand(0, 1) ? Suit::cases()[mt_rand(0, 2)] : Status::cases()[mt_rand(0, 1)];
        case 13: if ($G['objs']) return $G['objs'][mt_rand(0, count($G['objs']) - 1)]; return r_object($d + 1);
        case 14: return [];
        case 15: if ($G['arrs']) return $G['arrs'][mt_rand(0, count($G['arrs']) - 1)]; return r_array($d + 1);
        default: return r_array($d + 1);
    }
}
function r_array($d) {
    global $G;
    $a = [];
    $n = mt_rand(0, 6);
    $list = mt_rand(0, 2) == 0;
    for ($i = 0; $i < $n; $i++) {
        $k = $list ? $i : r_key();
        if ($G['refs'] && mt_rand(0, 7) == 0) {
            // a PHP reference shared with other places of this session
            if (!$G['pool'] || mt_rand(0, 2) == 0) $G['pool'][] = r_value($d + 1);
            $j = mt_rand(0, count($G['pool']) - 1);
            $a[$k] = &$G['pool'][$j];
        } else {
            $a[$k] = r_value($d + 1);
        }
    }
    if ($G['refs'] && count($a) >= 2 && mt_rand(0, 5) == 0) {
        // a reference between two elements of this array
        $ks = array_keys($a);
        $a[$ks[count($ks) - 1]] = &$a[$ks[0]];
    }
    if (mt_rand(0, 4) == 0) {
        unset($a[array_key_first($a) ?? 0]); // holes; an emptied array is one PHP allocated itself
    }
    if (mt_rand(0, 4) == 0) $G['arrs'][] = $a; // the same array (storage) used again
    return $a;
}
function r_object($d) {
    global $G;
    switch (mt_rand(0, 8)) {
        case 0: case 1:
            $o = new stdClass;
            foreach (r_array($d) as $k => $v) $o->{(is_string($k) && strlen($k) > 0 && $k[0] === "\0") ? "_$k" : $k} = $v;
            break;
        case 2: $o = new Pt(r_value($d), r_value($d), r_value($d)); break;
        case 3: $o = new Child(r_value($d), r_value($d), r_value($d), r_value($d)); $o->extra = r_value($d); break;
        // Nested::serialize() calls serialize(), so its values share
        // PHP's reference counter with the session.
        case 4: $o = mt_rand(0, 1) ? new Framed(r_string()) : new Nested(r_value($d + 1)); break;
        case 5: $o = new Modern; $o->data = r_array($d); break;
        case 6: $o = mt_rand(0, 1) ? new Sleepy(r_value($d), r_value($d), r_value($d))
                    : new SleepyChild(r_value($d), r_value($d), r_value($d), r_value($d), r_value($d)); break;
        case 7: $o = new stdClass; $o->self = $o; $o->n = r_int(); break;
        default:
            $o = new Child(r_value($d));
            if ($G['refs']) { $o->x = r_value($d); $x = &$o->x; $o->extra = &$x; unset($x); } // a property reference
            break;
    }
    $G['objs'][] = $o;
    return $o;
}
function r_name($i) {
    switch (mt_rand(0, 9)) {
        case 0: return "v$i;!x";
        case 1: return "n\0ul$i";
        case 2: return "caf\u{e9}_$i";
        case 3: return $i == 0 ? '' : "e$i";
        case 4: return str_repeat('L', mt_rand(100, 127)) . $i;
        case 5: return "k $i";
        default: return 'var_' . $i;
    }
}
// build_session fills $_SESSION with session $s's values. The features
// (references, enums) are chosen per session so that many sessions hold
// only what every serializer (msgpack included) keeps.
// $CASES are sessions that once showed a difference between Go and PHP.
$CASES = [
    // b is a PHP reference to the object a holds without one: msgpack
    // writes b as {nil: 5, 0: 2}, and PHP reads b as the object in a
    // reference of its own (refcount 1), not shared with a.
    function () { $o = new stdClass; $o->n = 1; $_SESSION['a'] = $o; $r = $o; $_SESSION['b'] = &$r; $_SESSION['c'] = [&$r]; },
    // A PHP reference that only the storage x and its copies share holds
    // (refcount 1 once read back), and whose value holds that storage.
    function () { global $K; $K = [null]; $x = ['k' => 1]; $x['r'] = &$K[0]; $K[0] = ['in' => $x]; $_SESSION['x'] = $x; $_SESSION['y'] = ['deep' => $x]; },
    function () { global $K; $K = [null]; $x = ['k' => 1]; $x['r'] = &$K[0]; $K[0] = ['in' => $x]; $_SESSION['x'] = $x; },
    function () { global $K; $K = [null]; $x = ['k' => 1]; $x['r'] = &$K[0]; $K[0] = ['in' => $x, 'again' => $x]; $o = new stdClass; $o->p = $x; $_SESSION['o'] = $o; $_SESSION['y'] = $x; },
];
function build_session($s) {
    global $G, $CASES;
    if (is_string($s)) {
        $G = ['objs' => [], 'pool' => [], 'arrs' => [], 'refs' => true, 'enums' => false];
        $_SESSION = [];
        $CASES[(int)substr($s, 1)]();
        return;
    }
    mt_srand($s);
    $G = ['objs' => [], 'pool' => [], 'arrs' => [], 'refs' => mt_rand(0, 2) > 0, 'enums' => mt_rand(0, 3) == 0];
    $_SESSION = [];
    $n = mt_rand(1, 8);
    $names = [];
    for ($i = 0; $i < $n; $i++) {
        $name = r_name($i);
        $names[] = $name;
        if ($G['refs'] && $i > 0 && mt_rand(0, 7) == 0) {
            $_SESSION[$name] = &$_SESSION[$names[mt_rand(0, $i - 1)]];
        } else {
            $_SESSION[$name] = r_value(0);
            if ($G['refs'] && mt_rand(0, 9) == 0 && is_array($_SESSION[$name]) && $_SESSION[$name]) {
                // an array holding itself through a reference
                $_SESSION[$name][array_key_first($_SESSION[$name])] = &$_SESSION[$name];
            }
        }
    }
    if (mt_rand(0, 1)) $G = []; // else the script still holds the pool's references when the session is written
}

// read_convert reads session $i's bytes under $h as a request does and
// writes them under every serializer.
function read_convert(int $i, string $h, string $data): array {
    $warn = [];
    set_error_handler(function ($no, $msg) use (&$warn) { if ($no != E_DEPRECATED) $warn[] = $msg; return true; });
    $ok = true;
    $to = [];
    foreach (HANDLERS as $h2) {
        // Read afresh for each target so that $_SESSION is the only
        // holder of what was read, as in a request.
        ini_set('session.serialize_handler', $h);
        session_id("r$i" . md5($h . $h2));
        session_start();
        try {
            $ok = session_decode($data) && $ok;
        } catch (Throwable $e) {
            $ok = false;
            $warn[] = get_class($e) . ': ' . $e->getMessage();
        }
        $vals = $_SESSION;
        $_SESSION = [];
        session_abort();
        ini_set('session.serialize_handler', $h2);
        session_id("c$i" . md5($h . $h2));
        session_start();
        $_SESSION = $vals;
        unset($vals);
        $e = session_encode();
        $to[$h2] = $e === false ? null : bin2hex($e);
        $_SESSION = [];
        session_abort();
    }
    restore_error_handler();
    return ['ok' => $ok && !$warn, 'err' => implode('; ', array_unique($warn)), 'to' => (object)$to];
}

$out = fopen($outFile, 'w');
$tmp = tempnam(sys_get_temp_dir(), 'phpdiff');
if ($cases) $count = count($CASES);
for ($i = 0; $i < $count; $i++) {
    $sid = $cases ? "c$i" : $seed * 100000 + $i;
    $enc = [];
    foreach (HANDLERS as $h) {
        ini_set('session.serialize_handler', $h);
        session_id("w$i" . md5($h));
        session_start();
        build_session($sid);
        $e = @session_encode();
        $enc[$h] = $e === false ? null : bin2hex($e);
        $_SESSION = [];
        session_abort();
    }
    $conv = [];
    foreach (HANDLERS as $h) {
        if ($enc[$h] === null) continue;
        if ($h !== 'msgpack') {
            $conv[$h] = read_convert($i, $h, hex2bin($enc[$h]));
            continue;
        }
        // PHP's msgpack extension crashes on some of its own data: read it
        // in a child process.
        $pid = pcntl_fork();
        if ($pid == 0) {
            file_put_contents($tmp, json_encode(read_convert($i, $h, hex2bin($enc[$h]))));
            exit(0);
        }
        pcntl_waitpid($pid, $status);
        if (pcntl_wifexited($status) && pcntl_wexitstatus($status) == 0) {
            $conv[$h] = json_decode(file_get_contents($tmp), true);
        } else {
            $conv[$h] = ['ok' => false, 'err' => 'PHP crashed reading it (status ' . $status . ')', 'to' => (object)[]];
        }
        @unlink($tmp);
    }
    fwrite($out, json_encode(['i' => $i, 'enc' => $enc, 'conv' => (object)$conv]) . "\n");
}
fclose($out);
