-- POST /add_film with a JSON film {"name": "Bench film <run>-<thread>-<n>", "studio", "year"}:
-- unique names per run and thread. Every request is a write (201 + Location on success).
-- filmd needs the editor role for this: set FILMD_BENCH_API_KEY to an editor key (or run filmd
-- with auth.anonymous_role = "editor").
--   FILMD_BENCH_API_KEY=filmd_... wrk -t1 -c50 -d10s -s bench/wrk/add_film.lua http://127.0.0.1:3000
-- Env: FILMD_BENCH_API_KEY (X-API-Key header), FILMD_BENCH_ORIGIN (Origin header).
dofile((debug.getinfo(1, "S").source:match("^@(.*[/\\])") or "./") .. "common.lua")

function init(args)
   bench.init_thread()
end

function request()
   return bench.add_film()
end
