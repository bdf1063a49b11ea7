<?php
// Sessions whose arrays PHP shares between copies (copy on write) while
// they hold PHP references, written through the real session machinery
// under igbinary and msgpack (session.save_handler=redis when run by
// interop_shared_test.go). Usage: php interop_shared.php OUTFILE
// OUTFILE gets one JSON line per (case, handler):
//   {"case":..., "h":..., "id":..., "enc":"<hex of session_encode()>",
//    "dump":<typed_dump of $_SESSION as a new request reads it back>,
//    "conv":{"<handler>":"<hex of session_encode() under it after reading>"}}
// (msgpack sessions are not read back: the extension crashes on some of
// its own references.)
require __DIR__ . '/interop_common.php';
ob_start();
[$_, $outFile] = $argv;
// $K keeps the references of a case alive while the session is written
// (igbinary writes a reference only while two places hold it).
$K = [];
$cases = [
    // A reference that, once read back, only the shared storage holds.
    'shared_lone_ref' => function () {
        global $K;
        $K[0] = 5;
        $a = ['r' => &$K[0], 'x' => 1];
        $_SESSION['a'] = $a;
        $_SESSION['b'] = $a;
    },
    // A reference the shared storage and a session variable hold.
    'shared_ref_rc2' => function () {
        global $K;
        $K[0] = 5;
        $a = ['r' => &$K[0], 'x' => [1, 2]];
        $_SESSION['a'] = $a;
        $_SESSION['b'] = ['n' => $a];
        $_SESSION['c'] = &$K[0];
    },
    // An array that holds its own storage through a PHP reference.
    'self_storage' => function () {
        global $K;
        $K[0] = null;
        $x = ['k' => 1];
        $x['r'] = &$K[0];
        $K[0] = ['in' => $x];
        $_SESSION['x'] = $x;
        $_SESSION['y'] = ['deep' => $x];
        $_SESSION['z'] = &$K[0];
    },
    // The same, with the array inside an object property.
    'self_storage_prop' => function () {
        global $K;
        $K[0] = null;
        $x = ['k' => 1];
        $x['r'] = &$K[0];
        $K[0] = ['in' => $x, 'again' => $x];
        $o = new stdClass;
        $o->p = $x;
        $_SESSION['o'] = $o;
        $_SESSION['z'] = &$K[0];
    },
    // Arrays that hold their own storage with no PHP reference in
    // between: the reference that made the cycle has refcount 1 when the
    // session is written (only the array holds it), so igbinary writes
    // its value, a back-reference to the array being written.
    'self_array' => function () {
        $k = [null];
        $x = ['k' => 1];
        $x['r'] = &$k[0];
        $k[0] = ['in' => $x];
        unset($k);
        $_SESSION['x'] = $x;
        $_SESSION['y'] = ['deep' => $x];
    },
    'self_array_direct' => function () {
        $k = [null];
        $x = [];
        $x['r'] = &$k[0];
        $k[0] = $x;
        unset($k);
        $_SESSION['x'] = $x;
    },
];
$handlers = ['igbinary', 'msgpack'];
$others = ['php', 'php_serialize', 'php_binary', 'igbinary', 'msgpack'];
$out = fopen($outFile, 'w');
foreach ($cases as $name => $build) {
    foreach ($handlers as $h) {
        ini_set('session.serialize_handler', $h);
        $id = 'shared' . str_replace('_', '', $name . $h);
        session_id($id);
        if (!session_start()) { fwrite(STDERR, "session_start failed\n"); exit(1); }
        $_SESSION = [];
        $K = [];
        $build();
        $enc = session_encode();
        session_write_close();
        $_SESSION = [];
        $K = [];
        $dump = null;
        $conv = [];
        if ($h !== 'msgpack') {
            // msgpack 2.2 recurses without end (SIGSEGV) on an array
            // that holds itself with no reference in between.
            $to = str_starts_with($name, 'self_array') ? array_values(array_diff($others, ['msgpack'])) : $others;
            [$dump, $conv] = reread_and_convert($id, $to);
        }
        $_SESSION = [];
        fwrite($out, json_encode(['case' => $name, 'h' => $h, 'id' => $id, 'enc' => bin2hex((string)$enc), 'dump' => $dump, 'conv' => (object)$conv]) . "\n");
    }
}
fclose($out);
ob_end_flush();
