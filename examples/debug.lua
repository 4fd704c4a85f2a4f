-- A script to step through: redis-cli --ldb --eval examples/debug.lua visits , 5
local key = KEYS[1]
local step = tonumber(ARGV[1])
local total = redis.call('INCRBY', key, step)
redis.debug('total', total)
return total
