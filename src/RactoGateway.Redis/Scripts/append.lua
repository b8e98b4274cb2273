-- append.lua: every append of RedisChatMemory (one message, a turn, or a batch), an import's append, and a trim.
-- De-duplicate, push, trim to the window, slide the expiry: one script, one key, one round trip. Redis runs a
-- script without interleaving other commands, so concurrent writers (many replicas) never split a batch or leave
-- more than the window, and the script touches only KEYS[1], so it is valid on Redis Cluster. The prelude
-- (prelude.lua) is joined in front of it: kinds, units, the summary element, chunked pushes.
--
-- Layout under PinSystemMessages: the pinned system messages are a run at the head of the list, oldest first, at
-- most MaxPinnedMessages of them; the counted messages follow in order. It is one list of unchanged JSON elements,
-- so Python's LRANGE 0 -1 + json.loads still reads it. A trimming append reads only the head run and the few
-- elements it drops, never the whole list. Lists written by earlier versions may hold system messages anywhere: such
-- a message counts like the others until trimming reaches it, and then it joins the head run instead of being dropped.
--
-- Arguments (written by AppendArguments.cs, the only writer; each one an integer in decimal digits):
-- KEYS[1]   the conversation list: "{KeyPrefix}:{conversationId}"
-- ARGV[1]   window: how many messages to keep (MaxTurns * 2); pinned system messages are not counted
-- ARGV[2]   expiry in milliseconds, or 0 to leave it as it is
-- ARGV[3]   MaxPinnedMessages: system messages are pinned at the head, at most this many; 0 when they are not pinned
-- ARGV[4]   1 to trim whole exchanges (tool calls with their results, user messages with their answers), else 0
-- ARGV[5]   MaxPendingMessages: evicted messages are kept for the rolling summary (see "Rolling summary" below), at
--           most this many; 0 when there is no rolling summary (evicted messages are dropped)
-- ARGV[6]   1 to delete the list first (an import's replace), else 0
-- ARGV[7..] pairs: an id marker (',"id":"..."' exactly as encoded, or "" when the message has no id), then the
--           encoded message (one JSON object whose first field is "role", and "id" right after it when present).
--           None at all: trim only (an operator applying the window to a stored conversation).
-- Returns   {stored, pending, dropped}: the messages stored (duplicates by id are not; 0 when trimming only); under a
--           rolling summary the messages now waiting for the summarizer (0 when this call evicted nothing); the
--           messages this call removed: past MaxPendingMessages under a rolling summary, else 0 for an append and
--           the messages trimmed away for a trim. An append with no rolling summary answers the bare integer stored.
--
-- Rolling summary: the list is [pinned run][summary][pending][window]. The summary is one system element (its bytes:
-- the prelude's summaryElement) whose counters say how many elements follow it as pending, how many were folded and
-- dropped so far, and the epoch of its creation. Eviction moves no element: the oldest window elements become pending
-- by raising the count. Past MaxPendingMessages the oldest pending go (counted in "dropped"), so storage stays bounded
-- when no summarizer runs. summary.lua folds pending elements into the text, compare-and-set on (epoch, folded +
-- dropped): exactly once.

local key = KEYS[1]
local window = tonumber(ARGV[1])
local ttl = tonumber(ARGV[2])
local maxPinned = tonumber(ARGV[3])
local maxPending = tonumber(ARGV[5])
pinSystem, wholeExchanges, fold = maxPinned > 0, ARGV[4] == '1', maxPending > 0
local FIRST = 7 -- the first pair's index
local trimOnly = #ARGV < FIRST
local lengthBefore = trimOnly and redis.call('LLEN', key) or 0

-- Replacing is deleting, then appending to an empty list: nothing after the DEL can fail on a list.
if ARGV[6] == '1' then redis.call('DEL', key) end

-- Whether an element carries this id marker right after its role.
local function hasId(element, marker)
  local _, roleEnd = string.find(element, '^{"role":"[^"\\]*"')
  return roleEnd ~= nil and string.sub(element, roleEnd + 1, roleEnd + #marker) == marker
end

-- 1. Retry safety: a message whose id is already in the list (or earlier in this batch) is not stored again. The
-- list is bounded (window + MaxPinnedMessages under the pin rule), so reading it whole here is bounded too.
local stored = nil
local fresh = {}
local batchIds = {}
for i = FIRST, #ARGV, 2 do
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

local pending, dropped = 0, 0 -- reported under a rolling summary

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
    push('RPUSH', key, newBody, 1, #newBody)
    if evicted > 0 then
      pending = p + evicted
      dropped = math.max(0, pending - maxPending)
      pending = pending - dropped
      local summary = summaryElement(pending, f, d + dropped, e, string.sub(head[h + 1], headEnd + 1))
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
    push('RPUSH', key, newBody, 1, #newBody)
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

    -- 3. Trim while the list is longer than the window (the head run counts here, as it always has: it decides when
    -- to trim, not how much), dropping the oldest units of the body until the body fits the window.
    local headCount = math.min(h0 + #newPins, maxPinned)
    -- A system message met in the body (left there by an earlier version) leaves it and joins the head run; one that
    -- ends up first in the kept body is at the head run's end already. Elements after the cut are not read.
    local cut = 1
    if headCount + m > window then
      while cut <= m and m - (cut - 1) > window do
        if kindAt(cut) == 'pin' then cut = cut + 1 else cut = unitEnd(kindAt, cut, m) end
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
    local function summary(p, f, d)
      if epoch == nil then epoch, rest = newEpoch(), summaryRest('""') end
      return summaryElement(p, f, d, epoch, rest)
    end
    -- LPUSH of the head run, then `extra` (oldest first), in front of the list.
    local function pushFront(extra)
      local front = {}
      for i = #extra, 1, -1 do front[#front + 1] = extra[i] end
      for i = #pins, 1, -1 do front[#front + 1] = pins[i] end
      push('LPUSH', key, front, 1, #front)
    end

    -- 4. Write: drop the head run and the trimmed part of the stored body, push the kept new messages, put the head
    -- run back in front (LPUSH of the reversed run keeps it oldest first).
    -- (When nothing is dropped and the head run is unchanged, the new messages are just pushed.)
    if evicted == 0 and cut == 1 and headSame then
      push('RPUSH', key, newBody, 1, #newBody)
    elseif not fold then
      local drop = h0 + math.min(cut - 1, m0)
      if drop > 0 then redis.call('LTRIM', key, drop, -1) end
      push('RPUSH', key, newBody, math.max(cut - m0, 1), #newBody)
      pushFront({})
    else
      -- The rolling summary: the evicted elements become pending; past MaxPendingMessages the oldest pending go.
      pending = P + evicted
      dropped = math.max(0, pending - maxPending)
      pending = pending - dropped
      if s0 == 1 and headSame then
        -- Nothing moves but the new messages (pushed) and the oldest pending past the bound (cut out after the summary).
        push('RPUSH', key, newBody, 1, #newBody)
        if dropped == 0 then
          redis.call('LSET', key, h0, summary(pending, F, D))
        else
          redis.call('LTRIM', key, h0 + 1 + dropped, -1)
          pushFront({ summary(pending, F, D + dropped) })
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
        if #front > 0 or s0 == 1 then kept[1] = summary(pending, F, D + dropped) end
        for i = dropped + 1, #front do kept[#kept + 1] = front[i] end
        local drop = b0 + math.min(cut - 1, m0)
        if drop > 0 then redis.call('LTRIM', key, drop, -1) end
        push('RPUSH', key, newBody, math.max(cut - m0, 1), #newBody)
        pushFront(kept)
      end
    end
  end
end

-- 5. PEXPIRE, not EXPIRE: 1.5 s stays 1.5 s (the seed's int() truncation made 0.5 s delete the list).
if ttl > 0 then
  redis.call('PEXPIRE', key, ttl)
end

if fold then return { #fresh, pending, dropped } end
if trimOnly then return { 0, 0, lengthBefore - redis.call('LLEN', key) } end
-- The common append (nothing pending, nothing dropped) answers a bare integer: a table reply is a measurable share of
-- Redis's time on the plainest path.
return #fresh
