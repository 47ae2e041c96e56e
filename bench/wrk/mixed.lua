-- A mixed load: 90% GET /, 9% GET /?like=<random id in 1..FILMD_BENCH_FILMS>, 1% POST /add_film.
--   FILMD_BENCH_API_KEY=filmd_... FILMD_BENCH_FILMS=100000 \
--     wrk -t1 -c50 -d10s -s bench/wrk/mixed.lua http://127.0.0.1:3000
-- Env: FILMD_BENCH_API_KEY (X-API-Key header), FILMD_BENCH_ORIGIN (Origin header).
dofile((debug.getinfo(1, "S").source:match("^@(.*[/\\])") or "./") .. "common.lua")

function init(args)
   bench.init_thread()
end

function request()
   local r = math.random(1, 100)
   if r <= 90 then
      return bench.get_root()
   elseif r <= 99 then
      return bench.like_random()
   else
      return bench.add_film()
   end
end
