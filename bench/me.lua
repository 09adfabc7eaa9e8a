-- GET /user/api/me with a random one of the seeded sessions' cookies.
-- wrk -s bench/me.lua URL -- TOKENS_FILE
local tokens = {}
function init(args)
  for line in io.lines(args[1] or "tokens.txt") do tokens[#tokens + 1] = line end
  math.randomseed(os.time() + math.floor(os.clock() * 1e6))
end
function request()
  return wrk.format("GET", "/user/api/me", { ["Cookie"] = "usher_session=" .. tokens[math.random(#tokens)] })
end
