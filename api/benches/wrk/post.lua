-- POSTs the JSON body in $BENCH_BODY with $BENCH_AUTHORIZATION (may be empty).
local f = assert(io.open(os.getenv("BENCH_BODY"), "r"))
wrk.method = "POST"
wrk.body = f:read("*a")
f:close()
wrk.headers["Content-Type"] = "application/json"
local auth = os.getenv("BENCH_AUTHORIZATION")
if auth and auth ~= "" then wrk.headers["Authorization"] = auth end
dofile(os.getenv("BENCH_WRK_DIR") .. "/report.lua")
