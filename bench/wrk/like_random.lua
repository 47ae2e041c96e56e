-- GET /?like=ID with ID uniformly random in 1..FILMD_BENCH_FILMS (default 100000): one like, then a
-- random film. Every request is a write.
--   FILMD_BENCH_FILMS=100000 wrk -t1 -c50 -d10s -s bench/wrk/like_random.lua http://127.0.0.1:3000
-- Env: FILMD_BENCH_API_KEY (X-API-Key header), FILMD_BENCH_ORIGIN (Origin header).
dofile((debug.getinfo(1, "S").source:match("^@(.*[/\\])") or "./") .. "common.lua")

function init(args)
   bench.init_thread()
end

function request()
   return bench.like_random()
end
