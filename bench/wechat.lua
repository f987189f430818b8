-- wrk script: requests signed and shaped as WeChat's servers send them (bench/wrk.py runs it; see there).
--
--   WECHAT_TOKEN   the account's token (signature = sha1 of the sorted token, timestamp and nonce)
--   WECHAT_MODE    "stranger": WECHAT_TEXT from openids nobody bound, round robin over the pool;
--                  "form": bound chairs walk the turns of WECHAT_SCRIPT (one "text<TAB>expected phrase" a line),
--                  one turn in flight per chair, so no two connections ever speak for the same chair at once
--   WECHAT_PREFIX, WECHAT_FIRST, WECHAT_POOL   openids PREFIX%05d from FIRST, POOL of them (split over threads)
--   WECHAT_THREADS must equal wrk's -t in form mode (each thread walks its own share of the chairs)
--   WECHAT_RATE    optional: messages per second over all threads, paced with delay() (the latency then counts
--                  from the send, not from the scheduled moment: wrk, unlike wrk2, does not correct for that)
--   WRK_REPORT     where done() writes its JSON

local bit = require("bit")
local band, bor, bxor, bnot, rol, lshift, rshift, tobit, tohex =
  bit.band, bit.bor, bit.bxor, bit.bnot, bit.rol, bit.lshift, bit.rshift, bit.tobit, bit.tohex
local byte, char, find, format, match, rep = string.byte, string.char, string.find, string.format, string.match, string.rep

local W = {}

-- SHA-1 of a string shorter than 512 MB, as 40 lowercase hex digits.
local function sha1(message)
  local length = #message
  local bits = length * 8
  message = message .. "\128" .. rep("\0", (55 - length) % 64) .. "\0\0\0\0"
    .. char(band(rshift(bits, 24), 255), band(rshift(bits, 16), 255), band(rshift(bits, 8), 255), band(bits, 255))
  local h0, h1, h2, h3, h4 =
    tobit(0x67452301), tobit(0xEFCDAB89), tobit(0x98BADCFE), tobit(0x10325476), tobit(0xC3D2E1F0)
  for block = 1, #message, 64 do
    for j = 0, 15 do
      local a, b, c, d = byte(message, block + 4 * j, block + 4 * j + 3)
      W[j] = bor(lshift(a, 24), lshift(b, 16), lshift(c, 8), d)
    end
    for j = 16, 79 do
      W[j] = rol(bxor(W[j - 3], W[j - 8], W[j - 14], W[j - 16]), 1)
    end
    local a, b, c, d, e = h0, h1, h2, h3, h4
    for j = 0, 79 do
      local f, k
      if j < 20 then
        f, k = bor(band(b, c), band(bnot(b), d)), 0x5A827999
      elseif j < 40 then
        f, k = bxor(b, c, d), 0x6ED9EBA1
      elseif j < 60 then
        f, k = bor(band(b, c), band(b, d), band(c, d)), 0x8F1BBCDC
      else
        f, k = bxor(b, c, d), 0xCA62C1D6
      end
      a, b, c, d, e = tobit(rol(a, 5) + f + e + k + W[j]), a, rol(b, 30), c, d
    end
    h0, h1, h2, h3, h4 = tobit(h0 + a), tobit(h1 + b), tobit(h2 + c), tobit(h3 + d), tobit(h4 + e)
  end
  return tohex(h0) .. tohex(h1) .. tohex(h2) .. tohex(h3) .. tohex(h4)
end

local function signature(token, timestamp, nonce)
  local parts = { token, timestamp, nonce }
  table.sort(parts)
  return sha1(table.concat(parts))
end

local token = os.getenv("WECHAT_TOKEN") or "unionbot-dev-token"
local mode = os.getenv("WECHAT_MODE") or "stranger"
local prefix = os.getenv("WECHAT_PREFIX") or "stranger-"
local first = tonumber(os.getenv("WECHAT_FIRST") or "0")
local pool = tonumber(os.getenv("WECHAT_POOL") or "1000")
local threads = tonumber(os.getenv("WECHAT_THREADS") or "1")
local rate = tonumber(os.getenv("WECHAT_RATE") or "")
local stranger_text = os.getenv("WECHAT_TEXT") or "你好"
local report_path = os.getenv("WRK_REPORT")
assert(mode == "stranger" or mode == "form", "WECHAT_MODE is stranger or form")

-- The turns of one walk (form mode): texts[i] is sent, expects[i] (may be "") must be in the reply.
local texts, expects = {}, {}
if mode == "form" then
  local path = assert(os.getenv("WECHAT_SCRIPT"), "form mode needs WECHAT_SCRIPT")
  for line in assert(io.open(path)):lines() do
    local text, expect = match(line, "^([^\t]*)\t?(.*)$")
    texts[#texts + 1], expects[#expects + 1] = text, expect
  end
  assert(#texts > 0, "WECHAT_SCRIPT has no turns")
end

-- Per thread (each has its own Lua state); `id` is set by setup() below, 1-based.
id = id or 1
counters = { sent = 0, non200 = 0, no_xml = 0, unexpected = 0, walks = 0, chairs = 0 } -- read by done()
-- MsgId: 2^22 ids per second of start time, 64 threads interleaved: unique across threads and runs (a run would
-- need 65,536 messages a second per thread to reach the next second's ids).
local msg_base = os.time() * 4194304
local started = false
local fresh = {} -- form mode: chairs not walking, first come first served
local fresh_head, fresh_tail = 1, 0 -- a queue: taken at the head, put back at the tail
local idle = {} -- form mode: chairs between two turns of a walk, answered and waiting for their next turn
local busy = {} -- form mode: openid -> chair with a turn in flight
local next_stranger = 0

function setup(thread)
  thread_count = (thread_count or 0) + 1
  assert(thread_count <= 64, "at most 64 threads")
  assert(mode ~= "form" or thread_count <= threads, "WECHAT_THREADS is less than wrk's -t")
  thread:set("id", thread_count)
  all_threads = all_threads or {}
  all_threads[#all_threads + 1] = thread
end

-- This thread's share of the chairs; also run lazily, as wrk calls request() once in its main state to check it.
local function start()
  started = true
  for i = first + id - 1, first + pool - 1, threads do
    fresh_tail = fresh_tail + 1
    fresh[fresh_tail] = format("%s%05d", prefix, i)
  end
  counters.chairs = fresh_tail
  next_stranger = id - 1
end

function init(_)
  start()
end

local function openid_of_next_turn()
  if mode == "stranger" then
    local openid = format("%s%05d", prefix, first + next_stranger % pool)
    next_stranger = next_stranger + threads
    return openid, stranger_text
  end
  local chair = table.remove(idle)
  if chair == nil then
    local openid = fresh[fresh_head]
    assert(openid, "every chair of this thread is waiting for a reply: more connections than chairs")
    fresh[fresh_head] = nil
    fresh_head = fresh_head + 1
    chair = { openid = openid, turn = 1 }
  end
  busy[chair.openid] = chair
  return chair.openid, texts[chair.turn]
end

local headers = { ["Content-Type"] = "text/xml" }

function request()
  if not started then
    start()
  end
  local openid, text = openid_of_next_turn()
  counters.sent = counters.sent + 1
  local now = tostring(os.time())
  local nonce = format("%d%09d", id, counters.sent)
  local msg_id = format("%.0f", msg_base + (counters.sent - 1) * 64 + id - 1)
  local body = "<xml><ToUserName><![CDATA[gh_unionbot]]></ToUserName><FromUserName><![CDATA[" .. openid
    .. "]]></FromUserName><CreateTime>" .. now .. "</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA["
    .. text .. "]]></Content><MsgId>" .. msg_id .. "</MsgId></xml>"
  local path = wrk.path .. "?signature=" .. signature(token, now, nonce) .. "&timestamp=" .. now .. "&nonce=" .. nonce
  return wrk.format("POST", path, headers, body)
end

function response(status, _, body)
  if status ~= 200 then
    counters.non200 = counters.non200 + 1
    return
  end
  if not find(body, "<xml>", 1, true) then
    counters.no_xml = counters.no_xml + 1
    return
  end
  if mode ~= "form" then
    return
  end
  -- A reply goes back to the sender: its ToUserName says whose turn just ended.
  local chair = busy[match(body, "<ToUserName><!%[CDATA%[(.-)%]%]></ToUserName>") or ""]
  if chair == nil then
    counters.unexpected = counters.unexpected + 1
    return
  end
  busy[chair.openid] = nil
  local expect = expects[chair.turn]
  if expect ~= "" and not find(body, expect, 1, true) then
    counters.unexpected = counters.unexpected + 1
  end
  chair.turn = chair.turn + 1
  if chair.turn > #texts then
    counters.walks = counters.walks + 1
    fresh_tail = fresh_tail + 1
    fresh[fresh_tail] = chair.openid -- at the back: it files again only after every other chair has
  else
    idle[#idle + 1] = chair
  end
end

if rate then
  local ffi = require("ffi")
  ffi.cdef([[
    typedef struct { long tv_sec; long tv_nsec; } wechat_timespec;
    int clock_gettime(int clock, wechat_timespec *now);
  ]])
  local clock = ffi.new("wechat_timespec")
  local interval = 1000 * threads / rate -- ms between two sends of this thread
  local slot = nil

  -- The next free slot of this thread's schedule; a thread that fell behind starts again from now (no burst).
  function delay()
    ffi.C.clock_gettime(1, clock) -- CLOCK_MONOTONIC
    local now = tonumber(clock.tv_sec) * 1000 + tonumber(clock.tv_nsec) / 1e6
    if slot == nil or slot < now then
      slot = now
    end
    local wait = slot - now
    slot = slot + interval
    return math.floor(wait)
  end
end

function done(summary, latency, _)
  local totals = { sent = 0, non200 = 0, no_xml = 0, unexpected = 0, walks = 0, chairs = 0 }
  local per_thread = {}
  for i, thread in ipairs(all_threads) do
    local theirs = thread:get("counters")
    for key, value in pairs(theirs) do
      totals[key] = totals[key] + value
    end
    per_thread[i] = format('{"sent": %.0f, "walks": %.0f}', theirs.sent, theirs.walks)
  end
  local e = summary.errors
  local out = assert(io.open(assert(report_path, "WRK_REPORT is not set"), "w"))
  out:write(format(
    '{"requests": %.0f, "duration_us": %.0f, "bytes": %.0f, "connect": %.0f, "read": %.0f, "write": %.0f, '
      .. '"timeout": %.0f, "status": %.0f, "sent": %.0f, "non200": %.0f, "no_xml": %.0f, "unexpected": %.0f, '
      .. '"walks": %.0f, "chairs": %.0f, "p50_us": %.0f, "p90_us": %.0f, "p95_us": %.0f, "p99_us": %.0f, '
      .. '"max_us": %.0f, "mean_us": %.1f, "threads": [%s]}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.timeout, e.status,
    totals.sent, totals.non200, totals.no_xml, totals.unexpected, totals.walks, totals.chairs,
    latency:percentile(50), latency:percentile(90), latency:percentile(95), latency:percentile(99), latency.max,
    latency.mean, table.concat(per_thread, ", ")
  ))
  out:close()
end
