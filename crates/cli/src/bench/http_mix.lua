-- The advisor's mixed workload for `parcours bench http`, run by wrk.
-- Arguments (after `--`): the file of request paths (one per line, already drawn in the
-- workload's proportions by the bench) and the session cookie. Each thread starts at its own
-- offset in the list and walks it in order, so the proportions hold over any window.
local paths = {}
local cookie = ""
local i = 1

function init(args)
  for line in io.lines(args[1]) do
    paths[#paths + 1] = line
  end
  cookie = args[2]
  i = (id or 0) * 7919 % #paths + 1
end

function setup(thread)
  thread:set("id", (_G.__threads or 0))
  _G.__threads = (_G.__threads or 0) + 1
end

function request()
  local p = paths[i]
  i = i % #paths + 1
  return wrk.format("GET", p, { ["Cookie"] = cookie, ["Accept"] = "application/json" })
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "PARCOURS-WRK requests=%d duration_us=%d p50_us=%d p90_us=%d p99_us=%d max_us=%d connect=%d read=%d write=%d timeout=%d status=%d\n",
    summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    e.connect, e.read, e.write, e.timeout, e.status))
end
