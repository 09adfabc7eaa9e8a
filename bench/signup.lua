-- POST /user/api/signup with a new address each time.
local counter = 0
local tag = ""
function init(args)
  math.randomseed(os.time() + math.floor(os.clock() * 1e6))
  tag = tostring(math.random(1, 1e9))
end
function request()
  counter = counter + 1
  local body = '{"email":"new-' .. tag .. '-' .. counter .. '@example.com","password":"load test password 7"}'
  return wrk.format("POST", "/user/api/signup", { ["Content-Type"] = "application/json" }, body)
end
