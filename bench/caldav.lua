-- wrk script for bench/caldav.py: one request, repeated. METHOD, TARGET, AUTH, DEPTH,
-- CONTENT_TYPE and BODY_FILE (a file holding the body) come from the environment.
local body = nil
local path = os.getenv("BODY_FILE")
if path and path ~= "" then
  local file = io.open(path, "rb")
  body = file:read("*a")
  file:close()
end
local headers = { Authorization = os.getenv("AUTH") }
if os.getenv("DEPTH") and os.getenv("DEPTH") ~= "" then headers["Depth"] = os.getenv("DEPTH") end
if body then headers["Content-Type"] = os.getenv("CONTENT_TYPE") or "application/xml" end
local method, target = os.getenv("METHOD"), os.getenv("TARGET")

request = function()
  return wrk.format(method, target, headers, body)
end

done = function(summary, latency, requests)
  io.write(string.format("REQUESTS %d NON2XX %d\n", summary.requests, summary.errors.status))
end
