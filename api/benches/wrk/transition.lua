-- Alternating HOLD/RESUME on a pool of referrals ($BENCH_BODY: "id version status" lines),
-- with the right optimistic-concurrency version, so every request is meant to succeed.
-- Each wrk thread takes its own slice of the pool; request k of a thread moves item
-- k mod n of its slice in round k div n, so an item comes back only after n-1 others.
local query = "mutation T($input: TransitionReferralInput!) { transitionReferral(input: $input) { id status version } }"
local threads = {}
local counter = 0

function setup(thread)
  thread:set("tid", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

function init(args)
  local nthreads = tonumber(os.getenv("BENCH_THREADS"))
  items = {}
  local n = 0
  for line in io.lines(os.getenv("BENCH_BODY")) do
    if n % nthreads == tid then
      local id, version, status = line:match("(%S+) (%d+) (%S+)")
      table.insert(items, { id = id, version = tonumber(version), held = (status == "on_hold") })
    end
    n = n + 1
  end
  k = 0
  headers = { ["Content-Type"] = "application/json", ["Authorization"] = os.getenv("BENCH_AUTHORIZATION") }
end

function request()
  local item = items[(k % #items) + 1]
  local round = math.floor(k / #items)
  k = k + 1
  local held = item.held
  if round % 2 == 1 then held = not held end
  local action = held and "RESUME" or "HOLD"
  local body = string.format('{"query":"%s","variables":{"input":{"id":"%s","action":"%s","version":%d}}}',
    query, item.id, action, item.version + round)
  return wrk.format("POST", nil, headers, body)
end

dofile(os.getenv("BENCH_WRK_DIR") .. "/report.lua")
