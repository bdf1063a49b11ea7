#!/usr/bin/env bash
# Builds phpredis 6.x (with igbinary, msgpack, lzf, zstd and lz4 support)
# from a phpredis source directory into a local directory, without
# installing anything system-wide:
#
#   scripts/build-phpredis6.sh /path/to/phpredis-6.1.0 [OUT_DIR]
#
# OUT_DIR defaults to ./.phpredis6 (git-ignored). The result is
# OUT_DIR/redis.so; load it instead of Debian's phpredis with
#
#   $(scripts/build-phpredis6.sh --php-args OUT_DIR) -r '...'
#
# which prints `php -n -d extension=igbinary -d extension=msgpack
# -d extension=OUT_DIR/redis.so` (-n: Debian's conf.d would load its own
# phpredis 5.3 as well). The Go tests find the build through
# PHPREDIS6_SO=OUT_DIR/redis.so (or ./.phpredis6/redis.so).
#
# Needs (Debian 12): php8.2-dev php-igbinary php-msgpack liblzf-dev
# libzstd-dev liblz4-dev. Pass --install-deps as the first argument to
# apt-get install them.
set -euo pipefail

php_args() {
  echo "php -n -d extension=igbinary -d extension=msgpack -d extension=$1/redis.so"
}

if [ "${1:-}" = "--php-args" ]; then
  php_args "$(cd "${2:-.phpredis6}" && pwd)"
  exit 0
fi
if [ "${1:-}" = "--install-deps" ]; then
  shift
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq php8.2-dev php-igbinary php-msgpack liblzf-dev libzstd-dev liblz4-dev >/dev/null
fi

src=${1:?usage: $0 [--install-deps] PHPREDIS_SOURCE_DIR [OUT_DIR]}
out=${2:-.phpredis6}
[ -f "$src/redis.c" ] && [ -f "$src/config.m4" ] || { echo "$src is not a phpredis source directory" >&2; exit 2; }
for h in zstd.h lz4.h liblzf/lzf.h; do
  [ -f "/usr/include/$h" ] || { echo "missing /usr/include/$h (apt-get install liblzf-dev libzstd-dev liblz4-dev, or pass --install-deps)" >&2; exit 2; }
done
command -v phpize >/dev/null || { echo "phpize missing (apt-get install php8.2-dev)" >&2; exit 2; }

mkdir -p "$out"
out=$(cd "$out" && pwd)
build="$out/build"
# phpize and configure write into the source tree: build in a copy.
rm -rf "$build"
mkdir -p "$build"
cp -a "$src"/. "$build"/
cd "$build"
phpize >/dev/null
./configure -q --enable-redis-igbinary --enable-redis-msgpack \
  --enable-redis-lzf --with-liblzf \
  --enable-redis-zstd --with-libzstd \
  --enable-redis-lz4 --with-liblz4 >/dev/null
make -s -j"$(nproc)" >/dev/null
cp modules/redis.so "$out/redis.so"

# The extension must load and report every option this build enabled.
$(php_args "$out") -r '
  $r = new ReflectionExtension("redis");
  foreach (["SERIALIZER_IGBINARY","SERIALIZER_MSGPACK","COMPRESSION_LZF","COMPRESSION_ZSTD","COMPRESSION_LZ4"] as $c) {
    if (!defined("Redis::$c")) { fwrite(STDERR, "built redis.so lacks Redis::$c\n"); exit(1); }
  }
  echo "phpredis ", $r->getVersion(), " built: '"$out"'/redis.so\n";'
