-- restore.lua: an import of a conversation exported with a rolling summary. Its pinned run, summary, counters and
-- pending elements cannot be rebuilt from appends, so the elements are stored exactly as exported, or not at all: a
-- summary cannot be merged into a conversation that exists. The importer then applies its window with append.lua's trim.
--
-- Arguments (written by AppendArguments.cs; integers in decimal digits):
-- KEYS[1]   the conversation list
-- ARGV[1]   expiry in milliseconds, or 0 to leave it as it is
-- ARGV[2]   1 to delete the list first (an import's replace); 0 to store only into an empty list
-- ARGV[3..] the elements, oldest first, stored byte for byte
-- Returns   the number of elements stored, or -1 (nothing written) when the list exists and ARGV[2] is 0

local key = KEYS[1]
local ttl = tonumber(ARGV[1])
if ARGV[2] == '1' then
  redis.call('DEL', key)
elseif redis.call('LLEN', key) > 0 then -- LLEN: in the application's ACL; no list is empty
  return -1
end
local FIRST = 3
push('RPUSH', key, ARGV, FIRST, #ARGV)
if ttl > 0 then redis.call('PEXPIRE', key, ttl) end
return #ARGV - FIRST + 1
