-- wrk script: POST one non-streaming chat completion per request; the model comes from $BENCH_MODEL.
local model = os.getenv("BENCH_MODEL") or "fast"
-- $BENCH_EXTRA: more JSON members, e.g. ',"mock_testing_fallbacks":true'
local extra = os.getenv("BENCH_EXTRA") or ""
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"model":"' .. model .. '","messages":[{"role":"user","content":"Say hello"}]' .. extra .. '}'
-- $BENCH_KEY: a virtual key sent as a bearer token (the "keyed" target)
local key = os.getenv("BENCH_KEY")
if key and key ~= "" then
  wrk.headers["Authorization"] = "Bearer " .. key
end
