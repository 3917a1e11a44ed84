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
-- $BENCH_PORTKEY_FAST / $BENCH_PORTKEY_SLOW: the fake provider's base URL for each group, sent the way Portkey's
-- gateway is told where to call (the "portkey" target)
local portkey = (model == "slow50") and os.getenv("BENCH_PORTKEY_SLOW") or os.getenv("BENCH_PORTKEY_FAST")
if portkey and portkey ~= "" then
  wrk.headers["x-portkey-provider"] = "openai"
  wrk.headers["x-portkey-custom-host"] = portkey
  wrk.headers["Authorization"] = "Bearer sk-fake"
end
