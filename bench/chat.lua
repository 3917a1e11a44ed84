-- wrk script: POST one non-streaming chat completion per request; the model comes from $BENCH_MODEL.
local model = os.getenv("BENCH_MODEL") or "fast"
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"model":"' .. model .. '","messages":[{"role":"user","content":"Say hello"}]}'
