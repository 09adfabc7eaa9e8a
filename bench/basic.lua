-- GET /user/api/verify with HTTP Basic credentials of a random one of the
-- first 100 seeded users. wrk -s bench/basic.lua URL -- BASIC_FILE
local headers = {}
function init(args)
  for line in io.lines(args[1] or "basic.txt") do headers[#headers + 1] = line end
  math.randomseed(os.time() + math.floor(os.clock() * 1e6))
end
function request()
  return wrk.format("GET", "/user/api/verify", { ["Authorization"] = headers[math.random(#headers)] })
end
