<?php
// JSON fields interop (see TestInteropJSONFields). Usage:
//   php interop_jsonfields.php write ID    PHP stores JSON text in session variables
//   php interop_jsonfields.php read ID     prints serialize(json_decode(...)) of each
ob_start();
[$_, $mode, $id] = $argv;
session_id($id);
if ($mode === 'write') {
    session_start();
    $_SESSION['scart_items'] = json_encode([
        ['sku' => 'A/1', 'name' => "caf\u{e9} \"q\" \u{1F600}", 'qty' => 2, 'price' => 9.5, 'big' => PHP_INT_MAX, 'tags' => []],
        ['sku' => 'B-2', 'name' => "line\nbreak", 'qty' => 1, 'price' => 0.1, 'big' => -1, 'tags' => ['x' => true, 'y' => null]],
    ]);
    $_SESSION['ga_data'] = json_encode(['cid' => '123.456', 'events' => [1, 2.5, 'three']], JSON_UNESCAPED_SLASHES);
    $_SESSION['trace_list_7'] = 'not json {';
    $_SESSION['session_view_log'] = json_encode('just a string');
    $_SESSION['other'] = json_encode([1, 2]);
    session_write_close();
    exit(0);
}
session_start(['read_and_close' => true]);
$out = [];
foreach ($_SESSION as $k => $v) {
    $d = is_string($v) ? json_decode($v, true) : null;
    $out[$k] = ['raw' => bin2hex(is_string($v) ? $v : serialize($v)),
                'ok' => json_last_error() === JSON_ERROR_NONE,
                'ser' => bin2hex(serialize($d))];
}
ob_end_clean();
echo json_encode($out);
