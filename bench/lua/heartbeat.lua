-- POST /api/progress/time as anonymous learners (X-Session-Token), random learner and lens each time.
package.path = os.getenv("BENCH_LUA_DIR") .. "/?.lua;" .. package.path
local common = require("common")
local tokens, items

function init(args)
  common.seed()
  tokens = common.lines(os.getenv("BENCH_TOKENS"))
  items = common.lines(os.getenv("BENCH_ITEMS"))
end

function request()
  local id = common.item(common.pick(items))
  local body = '{"content_id": "' .. id .. '", "time_delta_s": 30}'
  return wrk.format("POST", nil, {["Content-Type"] = "application/json", ["X-Session-Token"] = common.pick(tokens)}, body)
end

done = common.done
