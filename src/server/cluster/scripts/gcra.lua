-- GCRA (generic cell rate algorithm) token bucket, one key per bucket, timed by Redis' clock.
-- KEYS[1]: the bucket. ARGV[1]: burst (tokens), ARGV[2]: period in ms for `burst` tokens.
-- Returns {allowed (0|1), remaining tokens, ms until full, ms until the next token (0 if allowed)}.
local burst = tonumber(ARGV[1])
local period = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local interval = period / burst
local tat = tonumber(redis.call('GET', KEYS[1]))
if tat == nil or tat < now then
  tat = now
end
local new_tat = tat + interval
local allow_at = new_tat - period
if allow_at > now then
  return {0, 0, math.ceil(tat - now), math.ceil(allow_at - now)}
end
redis.call('SET', KEYS[1], tostring(new_tat), 'PX', math.ceil(new_tat - now) + 1)
local remaining = math.floor((now - allow_at) / interval)
return {1, remaining, math.ceil(new_tat - now), 0}
