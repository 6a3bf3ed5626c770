-- Shared by the benchmark scripts: input files, random picks, and the JSON summary harness.py reads.
local M = {}

function M.lines(path)
  local lines = {}
  for line in io.lines(path) do
    lines[#lines + 1] = line
  end
  return lines
end

function M.seed()
  math.randomseed(os.time() * 1000 + math.floor(os.clock() * 1000000) + tonumber(tostring({}):match("0x(%x+)"), 16) % 100000)
end

function M.pick(list)
  return list[math.random(#list)]
end

-- "lens-uuid module-slug" lines
function M.item(line)
  return line:match("^(%S+)%s+(%S+)$")
end

function M.done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests": %d, "duration_us": %d, "errors": %d, "p50_us": %.1f, "p99_us": %.1f}\n',
    summary.requests, summary.duration, e.connect + e.read + e.write + e.status + e.timeout,
    latency:percentile(50), latency:percentile(99)))
end

return M
