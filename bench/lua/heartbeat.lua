-- POST /api/progress/time as anonymous learners (X-Session-Token). Each learner of the pool reads one
-- lens, as in real use, so that after the first heartbeat every request updates that learner's row.
package.path = os.getenv("BENCH_LUA_DIR") .. "/?.lua;" .. package.path
local common = require("common")
local tokens, items

function init(args)
  common.seed()
  tokens = common.lines(os.getenv("BENCH_TOKENS"))
  items = common.lines(os.getenv("BENCH_ITEMS"))
end

function request()
  local learner = math.random(#tokens)
  local id = common.item(items[(learner % #items) + 1])
  local body = '{"content_id": "' .. id .. '", "time_delta_s": 30}'
  return wrk.format("POST", nil, {["Content-Type"] = "application/json", ["X-Session-Token"] = tokens[learner]}, body)
end

done = common.done
