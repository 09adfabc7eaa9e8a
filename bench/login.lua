-- POST /user/api/login as a random seeded user with the right password.
-- wrk -s bench/login.lua URL -- USERS
local n = 100000
function init(args)
  n = tonumber(args[1] or "100000")
  math.randomseed(os.time() + math.floor(os.clock() * 1e6))
end
function request()
  local body = '{"email":"user' .. math.random(0, n - 1) .. '@example.com","password":"load test password 7"}'
  return wrk.format("POST", "/user/api/login", { ["Content-Type"] = "application/json" }, body)
end
