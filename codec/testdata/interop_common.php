<?php
// Shared by interop_gen.php and interop_read.php: classes and a typed dump
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
class Modern {
    public $data = [];
    public function __serialize(): array { return $this->data; }
    public function __unserialize(array $a): void { $this->data = $a; }
}
enum Suit: string { case Hearts = 'H'; case Spades = 'S'; case Clubs = 'C'; }
enum Status { case Active; case Off; }

// typed_dump renders a PHP value as a JSON-friendly typed tree that keeps
// every distinction serialize() keeps (int vs string keys, float bits,
// binary strings, classes, mangled member names). References are not
// marked: a dump shows the values as PHP code sees them.
function typed_dump($v, $depth = 0) {
    if ($depth > 64) return ['...'];
    if ($v === null) return ['N'];
    if (is_bool($v)) return ['b', $v];
    if (is_int($v)) return ['i', (string)$v];
    if (is_float($v)) return ['d', is_nan($v) ? 'NAN' : bin2hex(pack('E', $v))];
    if (is_string($v)) return ['s', bin2hex($v)];
    if (is_array($v)) {
        $out = [];
        foreach ($v as $k => $x) $out[] = [is_int($k) ? ['i', (string)$k] : ['s', bin2hex($k)], typed_dump($x, $depth + 1)];
        return ['a', $out];
    }
    if ($v instanceof UnitEnum) return ['E', get_class($v), $v->name];
    if ($v instanceof Legacy) return ['C', 'Legacy', bin2hex($v->d)];
    if ($v instanceof Modern) return ['M', typed_dump($v->data, $depth + 1)];
    if (is_object($v)) {
        static $path = [];
        $oid = spl_object_id($v);
        if (isset($path[$oid])) return ['cycle', get_class($v)];
        $path[$oid] = true;
        $out = [];
        foreach ((array)$v as $k => $x) $out[] = [bin2hex((string)$k), typed_dump($x, $depth + 1)];
        unset($path[$oid]);
        return ['O', get_class($v), $out];
    }
    return ['?', gettype($v)];
}
