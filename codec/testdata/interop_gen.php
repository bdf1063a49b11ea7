<?php
// Writes COUNT randomly generated sessions (seeded) through the real
// session machinery under each of the handlers php, php_serialize and
// php_binary (session.save_handler=redis when run by interop_test.go).
// Usage: php interop_gen.php SEED COUNT OUTFILE [HANDLERS]
// HANDLERS is a comma-separated list (default php,php_serialize,php_binary).
// OUTFILE gets one JSON line per (session, handler):
//   {"i":N,"h":"php","id":"...","enc":"<hex of session_encode()>",
//    "dump":<typed_dump of $_SESSION as a new request reads it back>}
require __DIR__ . '/interop_common.php';
ob_start(); // CLI output would count as "headers sent" and block ini_set
[$_, $seed, $count, $outFile] = $argv;
$handlers = isset($argv[4]) ? explode(',', $argv[4]) : ['php', 'php_serialize', 'php_binary'];
$seed = (int)$seed; $count = (int)$count;

$G = ['objs' => [], 'refs' => [], 'enums' => []];

function rnd_bytes($n) { $s = ''; for ($i = 0; $i < $n; $i++) $s .= chr(mt_rand(0, 255)); return $s; }
function rnd_float() {
    static $edge = null;
    if ($edge === null) $edge = [0.0, -0.0, 0.1, 0.5, 1.0, -1.5, 1e15, 1e16, 1e17, 1.0E+25, 123456789012345678.0,
        1e-4, 1e-5, -1.25e-5, 5e-324, 2.2250738585072014E-308, 1.7976931348623157E+308, INF, -INF, NAN,
        0.30000000000000004, 100.0, 1e21, 3.14159, -0.0001];
    switch (mt_rand(0, 3)) {
        case 0: return $edge[mt_rand(0, count($edge) - 1)];
        case 1: return mt_rand() / mt_getrandmax() * (10 ** mt_rand(-8, 25)) * (mt_rand(0, 1) ? 1 : -1);
        case 2: return (float)mt_rand(-100000, 100000) / 64;
        default: return unpack('E', pack('J', (mt_rand(0, 0x7fffffff) << 32) | mt_rand(0, 0xffffffff)))[1];
    }
}
function rnd_int() {
    $edge = [0, 1, -1, PHP_INT_MAX, PHP_INT_MIN, 255, 256, -129, 2147483648, -2147483649];
    return mt_rand(0, 2) ? mt_rand(-100000, 100000) : (mt_rand(0, 1) ? $edge[mt_rand(0, count($edge) - 1)] : (mt_rand() << 31) ^ mt_rand());
}
function rnd_string() {
    switch (mt_rand(0, 6)) {
        case 0: return '';
        case 1: return rnd_bytes(mt_rand(1, 40));
        case 2: $all = ''; for ($i = 0; $i < 256; $i++) $all .= chr($i); return $all;
        case 3: return ['123', '0123', '-0', '-12', ' 1', '1.5', '9223372036854775807', '9223372036854775808', 'INF', 'N;'][mt_rand(0, 9)];
        case 4: return "quote\"semi;pipe|brace}{nul\0back\\slash";
        case 5: return "h\u{e9}llo w\u{f6}rld \u{1F600}";
        default: return substr(str_shuffle('abcdefghijklmnopqrstuvwxyz_0123456789'), 0, mt_rand(1, 20));
    }
}
function rnd_key() {
    switch (mt_rand(0, 5)) {
        case 0: return mt_rand(-5, 50);
        case 1: return ['7', '-12', '0123', '-0', '1.5', '9223372036854775807', '9223372036854775808', ' 3', ''][mt_rand(0, 8)];
        case 2: return rnd_bytes(mt_rand(0, 6));
        case 3: return PHP_INT_MIN;
        default: return substr(str_shuffle('abcdefghijklmnopqrstuvwxyz'), 0, mt_rand(1, 8));
    }
}
function rnd_value($d) {
    global $G;
    $max = $d > 4 ? 4 : 12;
    switch (mt_rand(0, $max)) {
        case 0: return null;
        case 1: return (bool)mt_rand(0, 1);
        case 2: case 3: return rnd_int();
        case 4: return rnd_float();
        case 5: case 6: return rnd_string();
        case 7: case 8: return rnd_array($d + 1);
        case 9: return rnd_object($d + 1);
        case 10: if (!empty($G['noenum'])) return rnd_int();
            return mt_rand(0, 1) ? Suit::cases()[mt_rand(0, 2)] : Status::cases()[mt_rand(0, 1)];
        case 11: if ($G['objs']) return $G['objs'][mt_rand(0, count($G['objs']) - 1)]; return rnd_object($d + 1);
        default: return rnd_array($d + 1);
    }
}
function rnd_array($d) {
    global $G;
    $a = [];
    $n = mt_rand(0, 6);
    $list = mt_rand(0, 2) == 0;
    for ($i = 0; $i < $n; $i++) {
        $k = $list ? $i : rnd_key();
        if (mt_rand(0, 9) == 0) {
            // a PHP reference shared with other slots of this session
            if (!$G['refs'] || mt_rand(0, 1)) $G['refs'][] = rnd_value($d + 1);
            $j = mt_rand(0, count($G['refs']) - 1);
            $a[$k] = &$G['refs'][$j];
        } else {
            $a[$k] = rnd_value($d + 1);
        }
    }
    return $a;
}
function rnd_object($d) {
    global $G;
    switch (mt_rand(0, 5)) {
        case 0: $o = new stdClass; foreach (rnd_array($d) as $k => $v) $o->{(is_string($k) && ($k === "" || $k[0] === "\0")) ? "_$k" : $k} = $v; break;
        case 1: $o = new Pt(rnd_value($d), rnd_value($d), rnd_value($d)); break;
        case 2: $o = new Child(rnd_value($d), rnd_value($d), rnd_value($d), rnd_value($d)); $o->extra = rnd_value($d); break;
        // The payload starts with "L" so that it never looks like
        // serialize() text: whether a payload's own values take part in the
        // reference numbering depends on the PHP class (see Nested).
        // Nested::serialize() calls serialize(): the payload's values share
        // PHP's reference counter (and objects, references and enum cases)
        // with the rest of the session.
        case 3: $o = mt_rand(0, 2) ? new Legacy('L' . rnd_string()) : new Nested(rnd_value($d + 1)); break;
        case 4: $o = new Modern; $o->data = rnd_array($d); break;
        default: $o = new stdClass; $o->self = $o; $o->n = rnd_int(); break;
    }
    $G['objs'][] = $o;
    return $o;
}
function rnd_name($i) {
    switch (mt_rand(0, 7)) {
        case 0: return "v$i;!x";
        case 1: return "n\0ul$i";
        case 2: return "caf\u{e9}_$i";
        case 3: return $i == 0 ? '' : "e$i";
        case 4: return str_repeat('L', 100) . $i;
        default: return 'var_' . $i;
    }
}
function build_session($seed) {
    global $G;
    mt_srand($seed);
    $G = ['objs' => [], 'refs' => [], 'enums' => []];
    $_SESSION = [];
    $n = mt_rand(1, 8);
    $names = [];
    for ($i = 0; $i < $n; $i++) {
        $name = rnd_name($i);
        $names[] = $name;
        if ($i > 0 && mt_rand(0, 7) == 0) {
            $_SESSION[$name] = &$_SESSION[$names[mt_rand(0, $i - 1)]];
        } else {
            $_SESSION[$name] = rnd_value(0);
        }
    }
}

$out = fopen($outFile, 'w');
for ($i = 0; $i < $count; $i++) {
    foreach ($handlers as $h) {
        ini_set('session.serialize_handler', $h);
        $id = sprintf('interop%d%s%d', $seed, str_replace('_', '', $h), $i);
        session_id($id);
        if (!session_start()) { fwrite(STDERR, "session_start failed\n"); exit(1); }
        build_session($seed * 100000 + $i);
        $enc = session_encode();
        session_write_close();
        // What a PHP request reads back (references to objects, for
        // instance, read back differently from how they were built).
        $_SESSION = [];
        $dump = null;
        // msgpack 2.2 cannot read enums back ("Cannot instantiate enum")
        // and crashes (SIGSEGV) on some of its own references: its
        // sessions are not read back here (Go compares them with what PHP
        // reads from the same session under the other serializers).
        $conv = [];
        if ($h !== 'msgpack') {
            // With argv[4]: what PHP writes under each other serializer
            // after reading this one.
            $to = isset($argv[4]) ? array_values(array_diff($handlers, [$h])) : [];
            [$dump, $conv] = reread_and_convert($id, $to);
        }
        $_SESSION = [];
        fwrite($out, json_encode(['i' => $i, 'h' => $h, 'id' => $id, 'enc' => bin2hex((string)$enc), 'dump' => $dump, 'conv' => (object)$conv]) . "\n");
    }
}
fclose($out);
ob_end_flush();
