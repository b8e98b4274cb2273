-- prelude.lua: what every script shares, joined in front of each one when it is loaded (ChatMemoryScripts.LuaText), so
-- that each rule below is written once: the kinds of elements and the units the window drops whole, the rolling
-- summary's element (its pattern and its bytes), and chunked pushes.
--
-- Every script reads and computes everything before its first write (Redis does not roll back a script that fails half
-- way), then writes with commands that cannot fail on a list (LTRIM, RPUSH, LPUSH, LSET, PEXPIRE).

local unpack = unpack or table.unpack -- Lua 5.1 (Redis) or 5.4 (Garnet)

-- Elements per RPUSH/LPUSH: dictated by Lua 5.1, whose unpack has about 8,000 stack slots for one call.
local CHUNK = 1000

-- command(key, list[first..last]) in chunks.
local function push(command, key, list, first, last)
  for i = first, last, CHUNK do
    redis.call(command, key, unpack(list, i, math.min(i + CHUNK - 1, last)))
  end
end

-- The rolling summary's element (Wire/SummaryElement.cs reads the same bytes):
--   {"role":"system","summary":{"pending":P,"folded":F,"dropped":D,"epoch":"E"},"content":"..."}
-- The P elements after it are pending (evicted from the window, not yet folded into the text); F and D count the messages
-- folded in and dropped past MaxPendingMessages so far; E is when it was created (a re-created conversation has another).
-- SUMMARY matches its head and captures P, F, D and E; summaryElement writes it, `rest` being what follows the head.
local SUMMARY = '^{"role":"system","summary":{"pending":(%d+),"folded":(%d+),"dropped":(%d+),"epoch":"(%d+)"}'
local function summaryElement(pending, folded, dropped, epoch, rest)
  return '{"role":"system","summary":{"pending":' .. string.format('%d', pending) .. ',"folded":' .. string.format('%d', folded)
    .. ',"dropped":' .. string.format('%d', dropped) .. ',"epoch":"' .. epoch .. '"}' .. rest
end
-- The rest of a summary whose text is `text`, a JSON string with its quotes.
local function summaryRest(text)
  return ',"content":' .. text .. '}'
end
-- Whether a summary element has text yet: GetHistoryAsync lists the summary as a message only then (its rest is not
-- summaryRest('""')). MessageCodec's ListWalk is the C# side of that rule.
local EMPTY_REST = summaryRest('""')
local function summaryHasText(element)
  return string.sub(element, -#EMPTY_REST) ~= EMPTY_REST
end
-- A new summary's epoch: the server's clock in microseconds.
local function newEpoch()
  local now = redis.call('TIME')
  return now[1] .. string.format('%06d', tonumber(now[2]))
end

-- The window rule of the running script (append.lua sets it from its arguments; the others use no kinds).
local pinSystem, wholeExchanges, fold = false, false, false

-- The kind of an element, from its first field without a JSON parser: ours start '{"role":"', Python's json.dumps
-- '{"role": "'. 'pin' (a system message kept at the head, not counted), 'summary', 'user', 'calls' (an assistant with
-- tool calls), 'tool', 'other'. WindowPolicy.KindOf is its C# twin on decoded messages (the golden cases hold both).
-- One anchored find and at most one short string per element: this runs for every element a trimming append looks at.
local U, T, S, A = 117, 116, 115, 97 -- string.byte of 'u', 't', 's', 'a'
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

-- The index after the unit that starts at j, among m elements whose kinds kindAt(j) gives: the window drops a unit
-- whole. WindowPolicy.UnitEnd is its C# twin.
local function unitEnd(kindAt, j, m)
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
