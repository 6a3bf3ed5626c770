-- POST /api/progress/complete as anonymous learners, with the lens's module_slug (module status reported).
package.path = os.getenv("BENCH_LUA_DIR") .. "/?.lua;" .. package.path
local common = require("common")
local tokens, items

function init(args)
  common.seed()
  tokens = common.lines(os.getenv("BENCH_TOKENS"))
  items = common.lines(os.getenv("BENCH_ITEMS"))
end

function request()
  local id, slug = common.item(common.pick(items))
  local body = '{"content_id": "' .. id .. '", "content_type": "lens", "module_slug": "' .. slug .. '"}'
  return wrk.format("POST", nil, {["Content-Type"] = "application/json", ["X-Session-Token"] = common.pick(tokens)}, body)
end

done = common.done
