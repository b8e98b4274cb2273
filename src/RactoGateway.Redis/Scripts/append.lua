-- append.lua: every append of RedisChatMemory (one message, a turn, or a batch).
-- De-duplicate, push, trim to the window, slide the expiry: one script, one key, one round trip. Redis runs a
-- script without interleaving other commands, so concurrent writers (many replicas) never split a batch or leave
-- more than the window, and the script touches only KEYS[1], so it is valid on Redis Cluster.
--
-- Redis does not roll back a script that fails half way, so this one reads and computes everything first and only
-- then writes, with commands that cannot fail on a list (LTRIM, RPUSH, LPUSH, PEXPIRE); every unpack is chunked
-- (Lua 5.1 has about 8,000 stack slots for one).
--
-- Layout under PinSystemMessages: the pinned system messages are a run at the head of the list, oldest first, at
-- most MaxPinnedMessages of them; the counted messages follow in order. It is one list of unchanged JSON elements,
-- so Python's LRANGE 0 -1 + json.loads still reads it. A trimming append reads only the head run and the few
-- elements it drops, never the whole list. Lists written by earlier versions may hold system messages anywhere: such
-- a message counts like the others until trimming reaches it, and then it joins the head run instead of being dropped.
--
-- KEYS[1]   the conversation list: "{KeyPrefix}:{conversationId}"
-- ARGV[1]   window: how many messages to keep (MaxTurns * 2); pinned system messages are not counted
-- ARGV[2]   expiry in milliseconds, or 0 for none
-- ARGV[3]   window rule: "" (ractogateway's: count everything), with "s" to pin system messages (followed by
--           MaxPinnedMessages in digits, 32 when absent), with "t" to trim whole exchanges (tool calls with their
--           results, user messages with their answers); e.g. "s32t". With "r" (an import's --replace), the list is
--           deleted first. With "f" and a number (MaxPendingMessages), evicted messages are kept for the rolling
--           summary instead of dropped (see "Rolling summary" below), e.g. "s32tf1000". With "x" (an import of a
--           conversation that has a rolling summary), the elements are the whole list as exported and are stored as
--           they are, without de-duplication or trimming, only into an empty list: after "r", or when the key does not
--           exist (else the script returns -1 and writes nothing). The importer then applies the window with a trim.
-- ARGV[4..] pairs: an id marker (',"id":"..."' exactly as encoded, or "" when the message has no id), then the
--           encoded message (one JSON object whose first field is "role", and "id" right after it when present).
--           None at all: trim only (an operator applying the window to a stored conversation).
-- Returns   the number of messages stored (duplicates are not); when trimming only, the number of messages removed.
--           With "f": {stored, pending, dropped}: the messages now waiting for the summarizer (0 when this append
--           evicted nothing), and those this append dropped past MaxPendingMessages.
--
-- Rolling summary ("f"): the list is [pinned run][summary][pending][window]. The summary is one system element whose
-- second field is "summary" (see SummaryElement.cs for the exact bytes); its counters say how many elements follow
-- it as pending (evicted, not yet folded into its text), how many were folded and dropped so far, and the epoch of
-- its creation. Eviction moves no element: the oldest window elements become pending by raising the count. Past
-- MaxPendingMessages the oldest pending go (counted in "dropped"), so storage stays bounded when no summarizer runs.
-- summary.lua folds pending elements into the text, compare-and-set on (epoch, folded + dropped): exactly once.

local unpack = unpack or table.unpack -- Lua 5.1 (Redis) or 5.4 (Garnet)
local key = KEYS[1]
local window = tonumber(ARGV[1])
local ttl = tonumber(ARGV[2])
local pinSystem = string.find(ARGV[3], 's', 1, true) ~= nil
local wholeExchanges = string.find(ARGV[3], 't', 1, true) ~= nil
local maxPinned = pinSystem and (tonumber(string.match(ARGV[3], 's(%d*)')) or 32) or 0 -- parsed only when pinning
local maxPending = tonumber(string.match(ARGV[3], 'f(%d+)') or '') -- nil: no rolling summary
local fold = maxPending ~= nil
local trimOnly = #ARGV == 3
local lengthBefore = trimOnly and redis.call('LLEN', key) or 0
local replace = string.find(ARGV[3], 'r', 1, true) ~= nil
local CHUNK = 1000 -- elements per RPUSH/LPUSH: far below Lua's unpack limit

-- Replacing is deleting, then appending to an empty list: nothing after the DEL can fail on a list.
if replace then redis.call('DEL', key) end

-- The kind of an element, from its first field without a JSON parser: ours start '{"role":"', Python's
-- json.dumps '{"role": "'. 'pin' (kept, not counted), 'user', 'calls' (assistant with tool calls), 'tool', 'other'.
-- One anchored find and at most one short string per element: this runs for every element a trimming append looks at.
-- The summary element's head, as SummaryElement.cs writes it: pending, folded, dropped, epoch.
local SUMMARY = '^{"role":"system","summary":{"pending":(%d+),"folded":(%d+),"dropped":(%d+),"epoch":"(%d+)"}'
local U, T, S, A = 117, 116, 115, 97 -- string.byte of 'u', 't', 's', 'a' (literals: the seed rule's path stays lean)
local function kindOf(element)
  local _, at = string.find(element, '^{"role": ?"')
  if at == nil then return 'other' end
  at = at + 1
  local first = string.byte(element, at)
  if first == U then
    if string.sub(element, at, at + 4) == 'user"' then return 'user' end
  elseif first == T then
    if string.sub(element, at, at + 4) == 'tool"' then return 'tool' end
  elseif first == S then
    if (pinSystem or fold) and string.sub(element, at, at + 6) == 'system"' then
      if fold and string.find(element, SUMMARY) then return 'summary' end
      if pinSystem then return 'pin' end
    end
  elseif first == A and wholeExchanges then
    -- only whole-exchange trimming needs to know about tool calls (the search reads the whole element)
    if string.sub(element, at, at + 9) == 'assistant"'
      and (string.find(element, '"tool_calls":[', at, true) or string.find(element, '"tool_calls": [', at, true)) then
      return 'calls'
    end
  end
  return 'other'
end

-- Whether an element carries this id marker right after its role.
local function hasId(element, marker)
  local _, roleEnd = string.find(element, '^{"role":"[^"\\]*"')
  return roleEnd ~= nil and string.sub(element, roleEnd + 1, roleEnd + #marker) == marker
end

-- command(key, list[first..last]) in chunks. The only writes, apart from LTRIM and PEXPIRE.
local function push(command, list, first, last)
  for i = first, last, CHUNK do
    redis.call(command, key, unpack(list, i, math.min(i + CHUNK - 1, last)))
  end
end

-- "x": restore a summarized conversation exactly (its pinned run, summary, counters and pending elements cannot be
-- rebuilt from appends), or refuse: a summary cannot be merged into a conversation that exists.
if string.find(ARGV[3], 'x', 1, true) then
  if not replace and redis.call('LLEN', key) > 0 then return -1 end -- LLEN: in the application's ACL; no list is empty
  local elements = {}
  for i = 5, #ARGV, 2 do elements[#elements + 1] = ARGV[i] end
  push('RPUSH', elements, 1, #elements)
  if ttl > 0 then redis.call('PEXPIRE', key, ttl) end
  return #elements
end

-- 1. Retry safety: a message whose id is already in the list (or earlier in this batch) is not stored again. The
-- list is bounded (window + MaxPinnedMessages under the pin rule), so reading it whole here is bounded too.
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

local pending, dropped = 0, 0 -- reported under "f"

if (#fresh > 0 or trimOnly) and not pinSystem and not wholeExchanges and not fold then
  -- 2. ractogateway's rule: push, then keep the newest `window` elements; the oldest are dropped first.
  local length = lengthBefore
  for first = 1, #fresh, CHUNK do
    length = redis.call('RPUSH', key, unpack(fresh, first, math.min(first + CHUNK - 1, #fresh)))
  end
  if length > window then redis.call('LTRIM', key, -window, -1) end
elseif #fresh > 0 or trimOnly then
  -- 2. The other rules: read what is needed and decide, then write.
  -- New system messages go to the head run at once; the others are appended to the counted part (the body).
  local newPins, newBody, newKinds = {}, fresh, {}
  if pinSystem then
    newBody = {}
    for _, element in ipairs(fresh) do
      local kind = kindOf(element)
      if kind == 'pin' then
        newPins[#newPins + 1] = element
      else
        newBody[#newBody + 1] = element
        newKinds[#newBody] = kind
      end
    end
  end

  local n0 = stored and #stored or redis.call('LLEN', key)
  -- The pin rule's steady state, straight-line (no tables, no closures): one pinned message at the head, one counted
  -- message in, at most one out. It reads and decides what the general path below would, or hands over to it.
  local function steadyPinned()
    if not pinSystem or wholeExchanges or fold or stored ~= nil or #newPins > 0 or #newBody ~= 1 or n0 < 2 or n0 > window + 1 then
      return false
    end
    local head = redis.call('LRANGE', key, 0, 1)
    if kindOf(head[1]) ~= 'pin' or kindOf(head[2]) == 'pin' then return false end
    if n0 == window + 1 then
      -- the body is full: its oldest message (head[2]) goes; the pinned one is put back in front
      redis.call('LTRIM', key, 2, -1)
      redis.call('RPUSH', key, newBody[1])
      redis.call('LPUSH', key, head[1])
    else
      redis.call('RPUSH', key, newBody[1])
    end
    return true
  end

  -- The rolling summary's steady state, straight-line: messages one by one (no whole exchanges), no new pin, the summary
  -- right after a head run of at most two pins. The evicted elements stay where they are: only the summary's counters
  -- change (LSET), or past MaxPendingMessages the oldest pending are cut out after it. Otherwise the general path.
  local function steadyFold()
    if not fold or wholeExchanges or #newPins > 0 or #newBody == 0 then return false end
    local head = redis.call('LRANGE', key, 0, 2)
    local h = 0
    while pinSystem and h < #head and kindOf(head[h + 1]) == 'pin' do h = h + 1 end
    if h >= #head then return false end
    local _, headEnd, p, f, d, e = string.find(head[h + 1], SUMMARY)
    if e == nil then return false end
    p, f, d = tonumber(p), tonumber(f), tonumber(d)
    local m0 = n0 - h - 1 - p
    local evicted = math.max(0, m0 + #newBody - window)
    if m0 < 0 or evicted > m0 then return false end
    if pinSystem and evicted > 0 then
      -- a system message among the evicted (left in the body by an earlier version) joins the head run: general path
      for _, element in ipairs(redis.call('LRANGE', key, h + 1 + p, h + p + evicted)) do
        if kindOf(element) == 'pin' then return false end
      end
    end
    push('RPUSH', newBody, 1, #newBody)
    if evicted > 0 then
      pending = p + evicted
      dropped = math.max(0, pending - maxPending)
      pending = pending - dropped
      local summary = '{"role":"system","summary":{"pending":' .. string.format('%d', pending) .. ',"folded":' .. string.format('%d', f)
        .. ',"dropped":' .. string.format('%d', d + dropped) .. ',"epoch":"' .. e .. '"}' .. string.sub(head[h + 1], headEnd + 1)
      if dropped == 0 then
        redis.call('LSET', key, h, summary)
      else
        redis.call('LTRIM', key, h + 1 + dropped, -1)
        redis.call('LPUSH', key, summary)
        for i = h, 1, -1 do redis.call('LPUSH', key, head[i]) end
      end
    end
    return true
  end

  if n0 + #fresh <= window and #newPins == 0 then
    -- Everything fits and the head run does not change: just push.
    push('RPUSH', newBody, 1, #newBody)
  elseif not steadyFold() and not steadyPinned() then
    -- Stored elements, read lazily in chunks that double while reading forwards (already all read when an id was
    -- looked up): each element copied into Lua costs about as much as a whole LTRIM, so only those looked at are read,
    -- and the pending part of a summarized list is jumped over, not read.
    -- (Tables and closures are few on purpose: each costs time in Lua's allocator and collector.)
    local cache, nextRead, grow, listKinds = {}, 0, 2, {}
    local function at(i) -- 0-based list index, i < n0
      if stored then return stored[i + 1] end
      local element = cache[i]
      if element == nil then
        if i ~= nextRead then grow = 2 end
        local chunk = redis.call('LRANGE', key, i, math.min(i + grow - 1, n0 - 1))
        for k, e in ipairs(chunk) do cache[i + k - 1] = e end
        nextRead, grow = i + #chunk, grow * 2
        element = cache[i]
      end
      return element
    end
    local function kindAtList(i)
      local kind = listKinds[i + 1]
      if kind == nil then
        kind = kindOf(at(i))
        listKinds[i + 1] = kind
      end
      return kind
    end

    -- The head run: the pinned system messages at the head of the list.
    local h0 = 0
    if pinSystem then
      while h0 < n0 and kindAtList(h0) == 'pin' do h0 = h0 + 1 end
    end

    -- The rolling summary after it, and its pending elements.
    local s0, P, F, D, epoch, rest = 0, 0, 0, 0, nil, nil
    if fold and h0 < n0 and kindAtList(h0) == 'summary' then
      local _, headEnd, p, f, d, e = string.find(at(h0), SUMMARY)
      s0, P, F, D, epoch, rest = 1, tonumber(p), tonumber(f), tonumber(d), e, string.sub(at(h0), headEnd + 1)
      P = math.min(P, n0 - h0 - 1) -- never trust a count past the list's end
    end
    local b0 = h0 + s0 + P -- the body's first list index

    -- The body: stored elements after the head run (and the summary and its pending), then the new counted messages;
    -- j is 1-based.
    local m0 = n0 - b0
    local m = m0 + #newBody
    local function bodyAt(j)
      if j <= m0 then return at(b0 + j - 1) end
      return newBody[j - m0]
    end
    local function kindAt(j)
      if j <= m0 then return kindAtList(b0 + j - 1) end
      local kind = newKinds[j - m0]
      if kind == nil then
        kind = kindOf(newBody[j - m0])
        newKinds[j - m0] = kind
      end
      return kind
    end

    -- The index after the unit that starts at j: the oldest unit is dropped as a whole.
    local function unitEnd(j)
      if wholeExchanges and kindAt(j) == 'user' then
        -- a user message and its answers, up to the next user message (if there is none, just the message)
        for k = j + 1, m do
          if kindAt(k) == 'user' then return k end
        end
      elseif wholeExchanges and kindAt(j) == 'calls' then
        -- an assistant's tool calls and the tool results that follow them
        local k = j + 1
        while k <= m and (kindAt(k) == 'tool' or kindAt(k) == 'pin') do k = k + 1 end
        return k
      end
      return j + 1
    end

    -- 3. Trim while the list is longer than the window (the head run counts here, as it always has: it decides when
    -- to trim, not how much), dropping the oldest units of the body until the body fits the window.
    local headCount = math.min(h0 + #newPins, maxPinned)
    -- A system message met in the body (left there by an earlier version) leaves it and joins the head run; one that
    -- ends up first in the kept body is at the head run's end already. Elements after the cut are not read.
    local cut = 1
    if headCount + m > window then
      while cut <= m and m - (cut - 1) > window do
        if kindAt(cut) == 'pin' then cut = cut + 1 else cut = unitEnd(cut) end
      end
      -- Never start with a tool result whose call was trimmed (nor with one behind a system message).
      while wholeExchanges and cut <= m and (kindAt(cut) == 'tool' or kindAt(cut) == 'pin') do
        cut = cut + 1
      end
    end

    -- The new head run, oldest first: the stored one, system messages met in the dropped part, the new ones. Past
    -- MaxPinnedMessages, the oldest after the first go: the original system prompt stays.
    local pins, evicted = {}, 0
    for i = 1, h0 do pins[i] = at(i - 1) end
    for j = 1, cut - 1 do
      if kindAt(j) == 'pin' then pins[#pins + 1] = bodyAt(j) else evicted = evicted + 1 end
    end
    local pinsMet = #pins - h0
    for _, element in ipairs(newPins) do pins[#pins + 1] = element end
    if #pins > maxPinned then
      local bounded = { pins[1] }
      for i = #pins - maxPinned + 2, #pins do bounded[#bounded + 1] = pins[i] end
      pins = bounded
    end
    local headSame = #newPins == 0 and pinsMet == 0 and #pins == h0

    -- The summary element with new counters (and the text it has, or none yet).
    local function summaryElement(p, f, d)
      if epoch == nil then
        local now = redis.call('TIME')
        epoch, rest = now[1] .. string.format('%06d', tonumber(now[2])), ',"content":""}'
      end
      return '{"role":"system","summary":{"pending":' .. string.format('%d', p) .. ',"folded":' .. string.format('%d', f)
        .. ',"dropped":' .. string.format('%d', d) .. ',"epoch":"' .. epoch .. '"}' .. rest
    end
    -- LPUSH of the head run, then `extra` (oldest first), in front of the list.
    local function pushFront(extra)
      local front = {}
      for i = #extra, 1, -1 do front[#front + 1] = extra[i] end
      for i = #pins, 1, -1 do front[#front + 1] = pins[i] end
      push('LPUSH', front, 1, #front)
    end

    -- 4. Write: drop the head run and the trimmed part of the stored body, push the kept new messages, put the head
    -- run back in front (LPUSH of the reversed run keeps it oldest first).
    -- (When nothing is dropped and the head run is unchanged, the new messages are just pushed.)
    if evicted == 0 and cut == 1 and headSame then
      push('RPUSH', newBody, 1, #newBody)
    elseif not fold then
      local drop = h0 + math.min(cut - 1, m0)
      if drop > 0 then redis.call('LTRIM', key, drop, -1) end
      push('RPUSH', newBody, math.max(cut - m0, 1), #newBody)
      pushFront({})
    else
      -- The rolling summary: the evicted elements become pending; past MaxPendingMessages the oldest pending go.
      pending = P + evicted
      dropped = math.max(0, pending - maxPending)
      pending = pending - dropped
      if s0 == 1 and headSame then
        -- Nothing moves but the new messages (pushed) and the oldest pending past the bound (cut out after the summary).
        push('RPUSH', newBody, 1, #newBody)
        if dropped == 0 then
          redis.call('LSET', key, h0, summaryElement(pending, F, D))
        else
          redis.call('LTRIM', key, h0 + 1 + dropped, -1)
          pushFront({ summaryElement(pending, F, D + dropped) })
        end
      else
        -- The head changes (a new pin, the first summary, a system message met in the evicted part): rebuild the
        -- head, the summary and the pending part in front of the kept body. Reads the pending part, once.
        local front = {}
        for i = 1, P do front[#front + 1] = at(h0 + s0 + i - 1) end
        for j = 1, cut - 1 do
          if kindAt(j) ~= 'pin' then front[#front + 1] = bodyAt(j) end
        end
        local kept = {}
        if #front > 0 or s0 == 1 then kept[1] = summaryElement(pending, F, D + dropped) end
        for i = dropped + 1, #front do kept[#kept + 1] = front[i] end
        local drop = b0 + math.min(cut - 1, m0)
        if drop > 0 then redis.call('LTRIM', key, drop, -1) end
        push('RPUSH', newBody, math.max(cut - m0, 1), #newBody)
        pushFront(kept)
      end
    end
  end
end

-- 5. PEXPIRE, not EXPIRE: 1.5 s stays 1.5 s (the seed's int() truncation made 0.5 s delete the list).
if ttl > 0 then
  redis.call('PEXPIRE', key, ttl)
end

if trimOnly and not fold then return lengthBefore - redis.call('LLEN', key) end
if fold then return { trimOnly and dropped or #fresh, pending, dropped } end
return #fresh
