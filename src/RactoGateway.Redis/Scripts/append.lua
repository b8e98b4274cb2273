-- append.lua: the atomic append of RedisChatMemory.
-- Push, trim to the window, slide the expiry: one script, one key, one round trip. Redis runs a script
-- without interleaving other commands, so concurrent writers (many replicas) never leave more than the
-- window, and the script touches only KEYS[1], so it is valid on Redis Cluster.
--
-- KEYS[1]  the conversation list: "{KeyPrefix}:{conversationId}"
-- ARGV[1]  window: how many messages to keep (MaxTurns * 2, at least 2)
-- ARGV[2]  expiry in milliseconds, or 0 for none
-- ARGV[3]  the encoded message (one JSON object)
-- Returns  the number of messages stored after the append.

local length = redis.call('RPUSH', KEYS[1], ARGV[3])
local window = tonumber(ARGV[1])

-- Negative indexes keep the newest `window` elements: the oldest are dropped first.
-- Skipped while the list still fits, which saves a command on young conversations.
if length > window then
  redis.call('LTRIM', KEYS[1], -window, -1)
  length = window
end

-- PEXPIRE, not EXPIRE: a TTL of 1.5 s stays 1.5 s (the seed's int() truncation made 0.5 s delete the list).
local ttl = tonumber(ARGV[2])
if ttl > 0 then
  redis.call('PEXPIRE', KEYS[1], ttl)
end

return length
