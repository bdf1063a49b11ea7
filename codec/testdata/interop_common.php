<?php
// Shared by the interop_*.php scripts: classes and a typed dump
// of PHP values that Go compares against (see interop_test.go).
error_reporting(E_ALL & ~E_DEPRECATED);

class Pt {
    public $x; protected $y; private $z;
    public function __construct($x = null, $y = null, $z = null) { $this->x = $x; $this->y = $y; $this->z = $z; }
}
class Child extends Pt {
    private $z; public $extra;
    public function __construct($x = null, $y = null, $z = null, $z2 = null) { parent::__construct($x, $y, $z); $this->z = $z2; }
}
class Legacy implements Serializable {
    public $d;
    public function __construct($d = '') { $this->d = $d; }
    public function serialize() { return $this->d; }
    public function unserialize($s) { $this->d = $s; }
}
// Nested::serialize() calls serialize(), which shares PHP's reference
// counter with the outer serialize() (PHP-COMPAT §13.6).
class Nested implements Serializable {
    public $v;
    public function __construct($v = null) { $this->v = $v; }
    public function serialize() { return serialize($this->v); }
    public function unserialize($s) { $this->v = unserialize($s); }
}
class Modern {
    public $data = [];
    public function __serialize(): array { return $this->data; }
    public function __unserialize(array $a): void { $this->data = $a; }
}
enum Suit: string { case Hearts = 'H'; case Spades = 'S'; case Clubs = 'C'; }
enum Status { case Active; case Off; }

// elem_dump dumps element $k of array $a. A PHP reference or an object
// met again (shared, or recursive) is shown as ['seenref'] /
// ['seenobj', class] instead of being expanded again.
$DUMP_SEEN = ['refs' => [], 'objs' => []];
function elem_dump($a, $k, $x, $depth) {
    global $DUMP_SEEN;
    $rr = ReflectionReference::fromArrayElement($a, $k);
    if ($rr === null) return typed_dump($x, $depth);
    $id = $rr->getId();
    if (isset($DUMP_SEEN['refs'][$id])) return ['seenref'];
    $DUMP_SEEN['refs'][$id] = true;
    return typed_dump($x, $depth);
}

// typed_dump_root resets the identity tracking and dumps $v.
function typed_dump_root($v) {
    global $DUMP_SEEN;
    $DUMP_SEEN = ['refs' => [], 'objs' => []];
    return typed_dump($v);
}

// typed_dump renders a PHP value as a JSON-friendly typed tree that keeps
// every distinction serialize() keeps (int vs string keys, float bits,
// binary strings, classes, mangled member names), and marks repeated
// references and objects (see elem_dump).
function typed_dump($v, $depth = 0) {
    if ($depth > 64) return ['...'];
    if ($v === null) return ['N'];
    if (is_bool($v)) return ['b', $v];
    if (is_int($v)) return ['i', (string)$v];
    if (is_float($v)) return ['d', is_nan($v) ? 'NAN' : bin2hex(pack('E', $v))];
    if (is_string($v)) return ['s', bin2hex($v)];
    if (is_array($v)) {
        $out = [];
        foreach ($v as $k => $x) $out[] = [is_int($k) ? ['i', (string)$k] : ['s', bin2hex($k)], elem_dump($v, $k, $x, $depth + 1)];
        return ['a', $out];
    }
    if ($v instanceof UnitEnum) return ['E', get_class($v), $v->name];
    if ($v instanceof Legacy) return ['C', 'Legacy', bin2hex($v->d)];
    if ($v instanceof Nested) return ['Cn', 'Nested'];
    if ($v instanceof Modern) return ['M', typed_dump($v->data, $depth + 1)];
    if (is_object($v)) {
        global $DUMP_SEEN;
        $oid = spl_object_id($v);
        if (isset($DUMP_SEEN['objs'][$oid])) return ['seenobj', get_class($v)];
        $DUMP_SEEN['objs'][$oid] = true;
        $out = [];
        $arr = (array)$v;
        foreach ($arr as $k => $x) $out[] = [bin2hex((string)$k), elem_dump($arr, $k, $x, $depth + 1)];
        return ['O', get_class($v), $out];
    }
    return ['?', gettype($v)];
}

// reread_and_convert reads session $id back as a new request does and
// returns [its typed dump, [handler => hex of session_encode() under each
// handler of $to after reading it]] (the bytes Session.Convert must give).
// It leaves session.serialize_handler at the last of $to.
function reread_and_convert(string $id, array $to): array {
    session_id($id);
    if (!session_start(['read_and_close' => true])) { fwrite(STDERR, "session re-read failed\n"); exit(1); }
    $dump = typed_dump_root($_SESSION);
    $conv = [];
    $vals = $_SESSION;
    foreach ($to as $h) {
        ini_set('session.serialize_handler', $h);
        session_id($id . 'conv');
        if (!session_start()) { fwrite(STDERR, "session_start (convert) failed\n"); exit(1); }
        $_SESSION = $vals;
        $conv[$h] = bin2hex((string)session_encode());
        session_abort();
    }
    unset($vals);
    return [$dump, $conv];
}
