-- summary.lua: commits a rolling summary. A summarizer read the summary element and its first `k` pending elements,
-- had a model fold them into a new text, and now replaces the text and removes those `k` elements, in one script,
-- only if nobody changed what it read: the summary's epoch (a cleared and re-created conversation has another) and
-- folded + dropped (the position of the first pending element in the conversation; another summarizer's commit or a
-- drop past MaxPendingMessages moves it). That compare-and-set is what makes every evicted message fold in exactly
-- once with any number of summarizers racing, and no summary write lost: the loser's text is thrown away and it reads
-- again. Layout and counters: see append.lua ("Rolling summary") and the prelude (prelude.lua), joined in front.
-- Like append.lua, it reads and decides everything before its first write.
--
-- KEYS[1]  the conversation list
-- ARGV[1]  the epoch read
-- ARGV[2]  folded + dropped read
-- ARGV[3]  k: the pending elements folded into the new text (at least 1)
-- ARGV[4]  the new text, encoded as a JSON string (with its quotes)
-- ARGV[5]  the most elements that can precede the summary (MaxPinnedMessages, 0 when system messages are not pinned)
-- Returns  {1, pending left} when committed; {0, 0} when what was read has changed (or the conversation is gone)

local key = KEYS[1]
local k = tonumber(ARGV[3])

local head = redis.call('LRANGE', key, 0, tonumber(ARGV[5]))
local at, p, f, d, epoch = nil, 0, 0, 0, nil
for i, element in ipairs(head) do
  local _, _, pending, folded, dropped, e = string.find(element, SUMMARY)
  if e then
    at, p, f, d, epoch = i, tonumber(pending), tonumber(folded), tonumber(dropped), e
    break
  end
end
if at == nil or epoch ~= ARGV[1] or f + d ~= tonumber(ARGV[2]) or p < k then
  return { 0, 0 }
end

local summary = summaryElement(p - k, f + k, d, epoch, summaryRest(ARGV[4]))

-- The pinned run and the summary go back in front of what is left after the folded elements. (Should that be nothing,
-- LTRIM deletes the key and LPUSH makes a new one: its expiry is put back.)
local ttl = redis.call('PTTL', key)
local front = { summary }
for i = at - 1, 1, -1 do front[#front + 1] = head[i] end
redis.call('LTRIM', key, at + k, -1)
push('LPUSH', key, front, 1, #front)
if ttl > 0 and redis.call('PTTL', key) < 0 then redis.call('PEXPIRE', key, ttl) end
return { 1, p - k }
