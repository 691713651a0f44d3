-- SPDX-License-Identifier: MIT
-- wrk script of bench/http/run: every request POSTs the JSON body read
-- from the file that the environment variable BENCH_BODY names.
local f = assert(io.open(os.getenv("BENCH_BODY"), "rb"))
wrk.method = "POST"
wrk.body = f:read("*a")
wrk.headers["Content-Type"] = "application/json"
f:close()
