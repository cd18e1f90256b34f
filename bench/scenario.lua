-- wrk script for every todo-fcgi scenario; SCENARIO and BENCH_USERS pick what it does.
--   list | get : the first user of BENCH_USERS; create | complete : the last one
--   mix  : 80% list, 10% get, 5% create, 5% complete across every user in BENCH_USERS
--   create-spread | complete-spread | patch-spread : each request for a user of BENCH_USERS at
--          random (writes spread over users, as real traffic is); patch sets a new description
--   plain: GET wrk's URL path unchanged (references: ceiling, static)
--   query: GET the list of QUERY_USER (token QUERY_TOKEN) with the query string QUERY (v2 filters)
--   list-token | get-token : list | get sending X-Consistency-Token back (a write's of long
--          ago): with --read-database, served by the standby after its position check
-- BENCH_USERS lines: "<user> <token> <task id> <task id> ..."
local scenario = os.getenv("SCENARIO") or "plain"
local users = {}

local function load_users()
  local path = os.getenv("BENCH_USERS")
  if not path then return end
  for line in io.lines(path) do
    local fields = {}
    for field in line:gmatch("%S+") do fields[#fields + 1] = field end
    local ids = {}
    for i = 3, #fields do ids[#ids + 1] = fields[i] end
    users[#users + 1] = { name = fields[1], auth = "Bearer " .. fields[2], ids = ids }
  end
end

load_users()
math.randomseed(os.time())
local body = '{"title":"benchmark task","description":"created by wrk"}'

local function list(u, consistency)
  return wrk.format("GET", "/api/" .. u.name .. "/tasks", { Authorization = u.auth, ["X-Consistency-Token"] = consistency })
end
local function get(u, consistency)
  return wrk.format("GET", "/api/" .. u.name .. "/tasks/" .. u.ids[math.random(#u.ids)],
    { Authorization = u.auth, ["X-Consistency-Token"] = consistency })
end
local function create(u)
  return wrk.format("POST", "/api/" .. u.name .. "/tasks", { Authorization = u.auth, ["Content-Type"] = "application/json" }, body)
end
local function complete(u)
  return wrk.format("PATCH", "/api/" .. u.name .. "/tasks/" .. u.ids[math.random(#u.ids)] .. "/complete", { Authorization = u.auth })
end

local function patch(u)
  return wrk.format("PATCH", "/api/" .. u.name .. "/tasks/" .. u.ids[math.random(#u.ids)],
    { Authorization = u.auth, ["Content-Type"] = "application/json" },
    '{"description":"patched ' .. math.random(1000000000) .. '"}')
end

local spread = { ["create-spread"] = create, ["complete-spread"] = complete, ["patch-spread"] = patch }

local query_user, query_auth, query = os.getenv("QUERY_USER"), "Bearer " .. (os.getenv("QUERY_TOKEN") or ""), os.getenv("QUERY") or ""

request = function()
  if scenario == "plain" then return wrk.format("GET") end
  if scenario == "query" then
    return wrk.format("GET", "/api/" .. query_user .. "/tasks?" .. query, { Authorization = query_auth })
  end
  if spread[scenario] then return spread[scenario](users[math.random(#users)]) end
  if scenario == "mix" then
    local u = users[math.random(#users)]
    local roll = math.random(100)
    if roll <= 80 then return list(u) elseif roll <= 90 then return get(u) elseif roll <= 95 then return create(u) else return complete(u) end
  end
  -- Reads use the first user; writes the last, so that creating tasks never grows the measured list.
  if scenario == "list" then return list(users[1]) elseif scenario == "get" then return get(users[1])
  elseif scenario == "list-token" then return list(users[1], "ct1.1") elseif scenario == "get-token" then return get(users[1], "ct1.1")
  elseif scenario == "create" then return create(users[#users]) else return complete(users[#users]) end
end

done = function(summary, latency, requests)
  local non2xx = summary.errors.status
  io.write(string.format('RESULT {"requests":%d,"duration_us":%d,"p50_us":%d,"p99_us":%d,"non2xx":%d,"socket_errors":%d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), non2xx,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
