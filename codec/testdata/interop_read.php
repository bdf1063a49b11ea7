<?php
// Reads sessions (written by Go) through the real session machinery and
// prints what PHP sees. Usage: php interop_read.php LISTFILE OUTFILE
// LISTFILE: one "handler session_id" per line. OUTFILE gets one JSON line
// per session: {"id":..., "h":..., "ok":bool, "dump":<typed_dump($_SESSION)>,
// "ser":"<hex of serialize($_SESSION)>", "enc":"<hex of session_encode()>"}.
require __DIR__ . '/interop_common.php';
ob_start();
[$_, $listFile, $outFile] = $argv;
$out = fopen($outFile, 'w');
foreach (file($listFile, FILE_IGNORE_NEW_LINES | FILE_SKIP_EMPTY_LINES) as $line) {
    [$h, $id] = explode(' ', $line, 2);
    ini_set('session.serialize_handler', $h);
    session_id($id);
    $ok = @session_start();
    // What PHP writes for the values it read (same serializer).
    $enc = $ok ? bin2hex((string)session_encode()) : '';
    if ($ok) session_abort();
    fwrite($out, json_encode(['id' => $id, 'h' => $h, 'ok' => $ok,
        'dump' => typed_dump_root($_SESSION), 'ser' => bin2hex(serialize($_SESSION)), 'enc' => $enc]) . "\n");
    $_SESSION = [];
}
fclose($out);
ob_end_flush();
