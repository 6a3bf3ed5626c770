-- GET the URL as a random anonymous learner of the pool (X-Session-Token).
package.path = os.getenv("BENCH_LUA_DIR") .. "/?.lua;" .. package.path
local common = require("common")
local tokens

function init(args)
  common.seed()
  tokens = common.lines(os.getenv("BENCH_TOKENS"))
end

function request()
  return wrk.format("GET", nil, {["X-Session-Token"] = common.pick(tokens)})
end

done = common.done
