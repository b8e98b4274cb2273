-- branch.lua: a conversation's first `keep` messages, counted as GetHistoryAsync lists them: truncated to them in place
-- (RedisChatMemory.TruncateAsync), or read to be copied (ForkAsync, whose copy restore.lua then writes into an empty
-- key). One rule for both, so what a fork copies is exactly what a truncation would keep. The prelude (prelude.lua) is
-- joined in front of it: the summary element's pattern, whether it has text.
--
-- What GetHistoryAsync lists (MessageCodec's ListWalk): the leading system messages (the pinned run), the summary when it
-- has text, then the window; the summary's pending elements are not listed. So `keep` counts: the pinned run, then the
-- summary (when it is listed), then window messages. Under a rolling summary, what has left the window (the summary and
-- its pending elements) is kept whole: a `keep` that would cut into it, or into the pinned run in front of it, is
-- refused, as is one past the messages listed. A corrupt element (which GetHistoryAsync skips) counts as one message.
-- Refused means nothing written: everything is read and decided before the first write.
--
-- Arguments (written by AppendArguments.cs):
-- KEYS[1]   the conversation list
-- ARGV[1]   keep
-- ARGV[2]   1 to truncate the list to those messages, 0 to read them (a fork)
-- ARGV[3]   with 1: the expiry in milliseconds set after a truncation that keeps something, or 0 to leave it as it is
-- Returns   {ok, least, most, ...}: ok 1 when done, 0 when refused (nothing written); least and most, the smallest and
--           largest `keep` this conversation accepts; then, when done, the elements removed (truncate) or the elements
--           kept, oldest first, stored bytes (read).

local key = KEYS[1]
local keep = tonumber(ARGV[1])
local n = redis.call('LLEN', key)

-- The leading system elements and the summary element right after them, if any, read in chunks that double.
local lead, summary, first, step = 0, nil, 0, 16
while summary == nil and lead == first and first < n do
  local chunk = redis.call('LRANGE', key, first, first + step - 1)
  for _, element in ipairs(chunk) do
    if string.find(element, SUMMARY) then summary = element break end
    if not string.find(element, '^{"role": ?"system"') then break end
    lead = lead + 1
  end
  first, step = first + #chunk, step * 2
end

-- least: the messages before the window that must stay; body: the list index of the window's first element.
local least, body = 0, 0
if summary then
  local _, _, p = string.find(summary, SUMMARY)
  local pending = math.min(tonumber(p), n - lead - 1) -- never trust a count past the list's end
  least = lead + (summaryHasText(summary) and 1 or 0)
  body = lead + 1 + pending
end
local most = least + (n - body)
if keep < least or keep > most then return { 0, least, most } end
local kept = body + (keep - least) -- elements kept

if ARGV[2] ~= '1' then
  local reply = { 1, least, most }
  if kept > 0 then
    for i, element in ipairs(redis.call('LRANGE', key, 0, kept - 1)) do reply[3 + i] = element end
  end
  return reply
end

if kept == 0 then
  redis.call('DEL', key)
elseif kept < n then
  redis.call('LTRIM', key, 0, kept - 1)
end
local ttl = tonumber(ARGV[3])
if kept > 0 and ttl > 0 then redis.call('PEXPIRE', key, ttl) end
return { 1, least, most, n - kept }
