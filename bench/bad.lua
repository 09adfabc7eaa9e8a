-- Large and malformed requests, round robin: 1 MiB JSON bodies to the
-- log-in and sign-up APIs, a 1 MiB form to the log-in page, JSON nested
-- 100,000 deep, a 1 MiB body to the forward-auth endpoint and a long
-- query string. Every answer should be a 4xx, quickly.
-- wrk -s bench/bad.lua URL
local reqs = {}
function init(args)
  local big = string.rep("a", 1024 * 1024)
  local deep = string.rep("[", 100000) .. string.rep("]", 100000)
  local json = { ["Content-Type"] = "application/json" }
  local form = { ["Content-Type"] = "application/x-www-form-urlencoded" }
  reqs = {
    wrk.format("POST", "/user/api/login", json, '{"email":"' .. big .. '","password":"x"}'),
    wrk.format("POST", "/user/api/signup", json, '{"email":"a@example.com","password":"' .. big .. '"}'),
    wrk.format("POST", "/user/login", form, "email=" .. big .. "&password=x"),
    wrk.format("POST", "/user/api/login", json, deep),
    wrk.format("POST", "/user/api/verify", json, big),
    wrk.format("GET", "/user/login?next=" .. string.rep("%2F", 2000), nil, nil),
  }
end
local i = 0
function request()
  i = i + 1
  return reqs[(i % #reqs) + 1]
end
