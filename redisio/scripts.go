package redisio

import (
	"crypto/sha1"
	"encoding/hex"

	"github.com/redis/rueidis"
)

// ReleaseScript is phpredis's lock release script, byte for byte (95 bytes,
// SHA-1 b70c2384248f88e6b75b9f89241a180f856ad852), so that PHP and Go load
// and run one and the same script.
const ReleaseScript = `if redis.call("get",KEYS[1]) == ARGV[1] then return redis.call("del",KEYS[1]) else return 0 end`

// ReleaseScriptSHA is the SHA-1 of ReleaseScript, as phpredis sends it with
// EVALSHA.
const ReleaseScriptSHA = "b70c2384248f88e6b75b9f89241a180f856ad852"

// renewScript extends the lock only if it still holds our token:
// KEYS[1]=lock ARGV[1]=token ARGV[2]=PX milliseconds. Returns 1 or 0.
const renewScript = `if redis.call("get",KEYS[1]) == ARGV[1] then return redis.call("pexpire",KEYS[1],ARGV[2]) else return 0 end`

// commitScript is the owner-checked write (+ release or renew) used where
// both keys live on one server.
//
//	KEYS[1]=lock KEYS[2]=data
//	ARGV[1]=token ARGV[2]=mode (w=SETEX, t=EXPIRE, d=DEL, n=none)
//	ARGV[3]=ttl seconds ARGV[4]=data ARGV[5]="" to release, else PX ms to keep
//
// Returns -1 when the lock is not ours (nothing is written), else the reply
// of the write (1 for SETEX and none, EXPIRE's or DEL's integer).
const commitScript = `if redis.call("get",KEYS[1]) ~= ARGV[1] then return -1 end
local r = 1
local m = ARGV[2]
if m == "w" then redis.call("setex",KEYS[2],ARGV[3],ARGV[4])
elseif m == "t" then r = redis.call("expire",KEYS[2],ARGV[3])
elseif m == "d" then r = redis.call("del",KEYS[2])
end
if ARGV[5] == "" then redis.call("del",KEYS[1]) else redis.call("pexpire",KEYS[1],ARGV[5]) end
return r`

var (
	releaseLua = rueidis.NewLuaScript(ReleaseScript)
	renewLua   = rueidis.NewLuaScript(renewScript)
	commitSHA  = sha1hex(commitScript)
)

func sha1hex(s string) string {
	h := sha1.Sum([]byte(s))
	return hex.EncodeToString(h[:])
}
