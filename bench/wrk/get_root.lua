-- GET / : a random film. wrk's static request path (no request() callback), the cheapest for wrk.
--   wrk -t1 -c50 -d10s -s bench/wrk/get_root.lua http://127.0.0.1:3000
-- Env: FILMD_BENCH_API_KEY (X-API-Key header), FILMD_BENCH_ORIGIN (Origin header).
dofile((debug.getinfo(1, "S").source:match("^@(.*[/\\])") or "./") .. "common.lua")

wrk.method = "GET"
wrk.path = "/"
bench.static = true

function init(args)
   bench.init_thread()
end
