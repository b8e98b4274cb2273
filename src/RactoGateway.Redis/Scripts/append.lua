-- append.lua: every append of RedisChatMemory (one message, a turn, or a batch).
-- De-duplicate, push, trim to the window, slide the expiry: one script, one key, one round trip. Redis runs a
-- script without interleaving other commands, so concurrent writers (many replicas) never split a batch or leave
-- more than the window, and the script touches only KEYS[1], so it is valid on Redis Cluster.
--
-- KEYS[1]   the conversation list: "{KeyPrefix}:{conversationId}"
-- ARGV[1]   window: how many messages to keep (MaxTurns * 2); pinned system messages are not counted
-- ARGV[2]   expiry in milliseconds, or 0 for none
-- ARGV[3]   window rule: "" (ractogateway's: count everything), with "s" to pin system messages,
--           with "t" to trim whole exchanges (tool calls with their results, user messages with their answers)
-- ARGV[4..] pairs: an id marker (',"id":"..."' exactly as encoded, or "" when the message has no id), then the
--           encoded message (one JSON object whose first field is "role", and "id" right after it when present)
-- Returns   the number of messages stored (duplicates are not)

local unpack = unpack or table.unpack -- Lua 5.1 (Redis) or 5.4 (Garnet)
local key = KEYS[1]
local window = tonumber(ARGV[1])
local ttl = tonumber(ARGV[2])
local pinSystem = string.find(ARGV[3], 's', 1, true) ~= nil
local wholeExchanges = string.find(ARGV[3], 't', 1, true) ~= nil

-- The kind of an element, from its first field without a JSON parser: ours start '{"role":"', Python's
-- json.dumps '{"role": "'. 'pin' (kept, not counted), 'user', 'calls' (assistant with tool calls), 'tool', 'other'.
-- Plain comparisons instead of patterns: this runs for every element on every trimming append.
local function kindOf(element)
  local at
  if string.sub(element, 1, 9) == '{"role":"' then at = 10
  elseif string.sub(element, 1, 10) == '{"role": "' then at = 11
  else return 'other' end
  local role = string.sub(element, at, at + 9)
  if string.sub(role, 1, 5) == 'user"' then return 'user' end
  if string.sub(role, 1, 5) == 'tool"' then return 'tool' end
  if string.sub(role, 1, 7) == 'system"' then return pinSystem and 'pin' or 'other' end
  if role == 'assistant"' and (string.find(element, '"tool_calls":[', at, true) or string.find(element, '"tool_calls": [', at, true)) then
    return 'calls'
  end
  return 'other'
end

-- Whether an element carries this id marker right after its role.
local function hasId(element, marker)
  local _, roleEnd = string.find(element, '^{"role":"[^"\\]*"')
  return roleEnd ~= nil and string.sub(element, roleEnd + 1, roleEnd + #marker) == marker
end

-- 1. Retry safety: a message whose id is already in the window (or earlier in this batch) is not stored again.
local stored = nil
local fresh = {}
local batchIds = {}
for i = 4, #ARGV, 2 do
  local marker, element = ARGV[i], ARGV[i + 1]
  local duplicate = false
  if marker ~= '' then
    if batchIds[marker] then
      duplicate = true
    else
      stored = stored or redis.call('LRANGE', key, 0, -1)
      for _, old in ipairs(stored) do
        if hasId(old, marker) then duplicate = true break end
      end
    end
    batchIds[marker] = true
  end
  if not duplicate then fresh[#fresh + 1] = element end
end

-- 2. Push, in chunks so that a large batch never exceeds Lua's stack for unpack. Nothing new: nothing to trim.
local length = 0
for first = 1, #fresh, 1000 do
  length = redis.call('RPUSH', key, unpack(fresh, first, math.min(first + 999, #fresh)))
end

-- 3. Trim. Nothing to do while the whole list fits: pinned messages only make the counted part smaller.
if length > window then
  if not pinSystem and not wholeExchanges then
    -- ractogateway's rule: keep the newest `window` elements; the oldest are dropped first.
    redis.call('LTRIM', key, -window, -1)
  else
    -- Elements are read from the head lazily, a few at a time: reading a 40-element list into Lua costs about four times
    -- the rest of the script, and whole-exchange trimming usually needs only the first few.
    local n = length
    local elements, kinds, fetched = {}, {}, 0
    local function kindAt(i)
      while i > fetched do
        local chunk = redis.call('LRANGE', key, fetched, math.max(i, fetched + 4) - 1)
        if #chunk == 0 then return nil end
        for _, element in ipairs(chunk) do
          fetched = fetched + 1
          elements[fetched] = element
          kinds[fetched] = kindOf(element)
        end
      end
      return kinds[i]
    end

    -- Only pinned messages make the counted part smaller than the list, and finding them needs every element.
    local counted = n
    if pinSystem then
      kindAt(n)
      for i = 1, n do
        if kinds[i] == 'pin' then counted = counted - 1 end
      end
    end

    local function nextCounted(i)
      while i <= n and kindAt(i) == 'pin' do i = i + 1 end
      return i
    end

    -- The index after the unit that starts at i: the oldest unit is dropped as a whole.
    local function unitEnd(i)
      if wholeExchanges and kindAt(i) == 'user' then
        -- a user message and its answers, up to the next user message (if there is none, just the message)
        for j = i + 1, n do
          if kindAt(j) == 'user' then return j end
        end
      elseif wholeExchanges and kindAt(i) == 'calls' then
        -- an assistant's tool calls and the tool results that follow them
        local j = i + 1
        while j <= n and (kindAt(j) == 'tool' or kindAt(j) == 'pin') do j = j + 1 end
        return j
      end
      return i + 1
    end

    local excess = counted - window
    local cut = nextCounted(1)
    while excess > 0 and cut <= n do
      local stop = unitEnd(cut)
      for j = cut, stop - 1 do
        if kindAt(j) ~= 'pin' then excess = excess - 1 end
      end
      cut = nextCounted(stop)
    end
    -- Never start with a tool result whose call was trimmed.
    while wholeExchanges and cut <= n and kindAt(cut) == 'tool' do
      cut = nextCounted(cut + 1)
    end

    -- Drop everything before `cut`, then put back the pinned messages that were there, in order.
    local pinned = {}
    for j = cut - 1, 1, -1 do
      if kinds[j] == 'pin' then pinned[#pinned + 1] = elements[j] end
    end
    redis.call('LTRIM', key, cut - 1, -1)
    if #pinned > 0 then redis.call('LPUSH', key, unpack(pinned)) end
  end
end

-- 4. PEXPIRE, not EXPIRE: 1.5 s stays 1.5 s (the seed's int() truncation made 0.5 s delete the list).
if ttl > 0 then
  redis.call('PEXPIRE', key, ttl)
end

return #fresh
