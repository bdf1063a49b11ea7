// Package codec reads and writes PHP's serialize() format and the PHP
// session serializers php, php_binary and php_serialize, byte for byte as
// PHP 8.x writes them. It depends on the standard library only.
//
// (Full package documentation: see the end of this file's history; this is
// the first version.)
package codec
