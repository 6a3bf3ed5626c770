-- A learner's traffic, mixed by the weights in BENCH_MIX ("heartbeat,complete,module,course" per
-- minute of reading): heartbeats and completions as anonymous learners of the pool, page views as the
-- seeded learner (BENCH_PAGE_TOKEN) on BENCH_MODULE_PATH and BENCH_COURSE_PATH.
package.path = os.getenv("BENCH_LUA_DIR") .. "/?.lua;" .. package.path
local common = require("common")
local tokens, items, weights, total
local module_path, course_path, page_token

function init(args)
  common.seed()
  tokens = common.lines(os.getenv("BENCH_TOKENS"))
  items = common.lines(os.getenv("BENCH_ITEMS"))
  module_path = os.getenv("BENCH_MODULE_PATH")
  course_path = os.getenv("BENCH_COURSE_PATH")
  page_token = os.getenv("BENCH_PAGE_TOKEN")
  weights = {}
  total = 0
  for weight in string.gmatch(os.getenv("BENCH_MIX"), "[^,]+") do
    weights[#weights + 1] = tonumber(weight)
  end
  for _, weight in ipairs(weights) do total = total + weight end
end

local function kind()
  local roll = math.random() * total
  for index, weight in ipairs(weights) do
    if roll < weight then return index end
    roll = roll - weight
  end
  return 1
end

function request()
  local which = kind()
  if which == 1 then
    local learner = math.random(#tokens)
    local id = common.item(items[(learner % #items) + 1])
    local body = '{"content_id": "' .. id .. '", "time_delta_s": 60}'
    return wrk.format("POST", "/api/progress/time",
      {["Content-Type"] = "application/json", ["X-Session-Token"] = tokens[learner]}, body)
  elseif which == 2 then
    local id, slug = common.item(common.pick(items))
    local body = '{"content_id": "' .. id .. '", "content_type": "lens", "module_slug": "' .. slug .. '"}'
    return wrk.format("POST", "/api/progress/complete",
      {["Content-Type"] = "application/json", ["X-Session-Token"] = common.pick(tokens)}, body)
  elseif which == 3 then
    return wrk.format("GET", module_path, {["X-Session-Token"] = page_token})
  end
  return wrk.format("GET", course_path, {["X-Session-Token"] = page_token})
end

done = common.done
