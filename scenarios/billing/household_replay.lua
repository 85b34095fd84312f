-- A real household replayed: the Open Power System Data household in Konstanz
-- (cumulative grid_import / grid_export readings, kWh, hourly; CC BY 4.0, see
-- ../shared/data/README.md) drives the simulated meter for N hours. A+ read over
-- IEC 62056-21 must equal the difference of the grid_import readings, A- that of
-- grid_export, each rate the sum of its hours, and the 15-minute load profile the
-- hourly energy spread evenly. The CSV is read and the sums are done here in Lua.
local flag = require "flag"
local mb = require "mb"

local CSV = "consumption/opsd_household_konstanz/household_data_60min_singleindex_2017_residential4.csv"
local START = "2016-06-01T00:00:00Z" -- a Wednesday
local CEST = 2 * 3600

-- grid_import / grid_export readings by UTC time (seconds), as integers of Wh.
local function readings(t)
  local text = t:read_data(CSV)
  local lines = text:gmatch("[^\r\n]+")
  local header = lines()
  local cols, imp_col, exp_col = {}, nil, nil
  for name in (header .. ","):gmatch("([^,]*),") do
    cols[#cols + 1] = name
    if name:match("grid_import$") and not imp_col then imp_col = #cols end
    if name:match("grid_export$") and not exp_col then exp_col = #cols end
  end
  t:assert(imp_col, "grid_import column in " .. CSV):not_nil()
  local out = {}
  for line in lines do
    local f = {}
    for v in (line .. ","):gmatch("([^,]*),") do f[#f + 1] = v end
    local ts = mb.parse_time(f[1])
    if ts and f[imp_col] ~= "" then
      out[ts] = { imp = flag.fixed(f[imp_col], 3), exp = f[exp_col] ~= "" and flag.fixed(f[exp_col], 3) or nil }
    end
  end
  return out
end

local function rate_at(utc)
  local localt = utc + CEST
  local weekday = (localt // 86400 + 3) % 7 -- 0 = Monday
  local hour = (localt % 86400) // 3600
  if weekday < 5 and hour >= 6 and hour < 22 then return 1 end
  return 2
end

scenario "household replay: A+ equals the difference of the grid_import readings" {
  tags = { "billing", "registers", "opsd", "load-profile" },
  requirements = { "metersim load replay: registers equal the readings (docs/metersim.md)" },
  sim_only = true,
  function(t)
    local hours = math.tointeger(tonumber(t:param("hours", "48")))
    local t0 = t:ok(mb.parse_time(START))
    local rd = t:step("read the household's readings", function()
      local rd = readings(t)
      for h = 0, hours do
        t:assert(rd[t0 + h * 3600], "reading at " .. mb.format_time(t0 + h * 3600)):not_nil()
      end
      return rd
    end)
    local m <close> = t:meter{ load = t:data_path(CSV), start = START }
    t:step("replay " .. hours .. " h, A+ in the control API every 6 h", function()
      local read, want = {}, {}
      for h = 6, hours, 6 do
        m:advance(6 * 3600)
        local ts = t0 + h * 3600
        local expect_wh = rd[ts].imp - rd[t0].imp
        for _, reg in ipairs(m:state().registers) do
          if reg.obis == "1-0:1.8.0*255" then
            t:expect(reg.raw, "A+ after " .. h .. " h in mWh"):equals(expect_wh * 1000)
            read[#read + 1] = { mb.format_time(ts), reg.raw / 1e6 }
          end
        end
        want[#want + 1] = { mb.format_time(ts), expect_wh / 1000 }
      end
      t:plot{ title = "A+ register during the replay", x = { label = "time", kind = "time" },
        y = { label = "A+", unit = "kWh" },
        series = { { name = "read", points = read }, { name = "expected", points = want } } }
    end)
    local c <close> = m:iec21()
    t:step("readout over IEC 62056-21", function()
      local r = t:ok(c:readout())
      local t1 = t0 + hours * 3600
      local per_rate = { 0, 0 }
      for h = 0, hours - 1 do
        local a, b = rd[t0 + h * 3600], rd[t0 + (h + 1) * 3600]
        local rate = rate_at(t0 + h * 3600) -- switches fall on whole hours in summer
        per_rate[rate] = per_rate[rate] + (b.imp - a.imp)
      end
      local function wh(obis) return flag.fixed(t:assert(r.values[obis], obis):not_nil(), 3) end
      t:measure("A+ total", wh("1-0:1.8.0*255") / 1000, "kWh")
        :equals((rd[t1].imp - rd[t0].imp) / 1000)
      t:measure("A+ rate 1", wh("1-0:1.8.1*255") / 1000, "kWh"):equals(per_rate[1] / 1000)
      t:measure("A+ rate 2", wh("1-0:1.8.2*255") / 1000, "kWh"):equals(per_rate[2] / 1000)
      if rd[t0].exp and rd[t1].exp then
        t:measure("A- total", wh("1-0:2.8.0*255") / 1000, "kWh")
          :equals((rd[t1].exp - rd[t0].exp) / 1000)
      end
    end)
    t:step("load profile P.01 over R5 against the readings", function()
      t:ok(c:program(t:param("password", "00000000")))
      -- 20:00..24:00 CEST on the first day = 18:00..22:00 UTC (the evening, when the
      -- household imports; across the 22:00 tariff switch)
      local p = t:ok(c:command("R5", "P.01(1606012000;1606020000)"))
      t:assert(p.reply, "answer to R5 P.01"):equals("DATA")
      local read, want = {}, {}
      local ts
      for line in p.data:gmatch("[^\r\n]+") do
        local stamp = line:match("^P%.01%((%d+)%)")
        if stamp then
          -- header: the first entry's time, s YYMMDDhhmmss local (s = 1: summer time)
          local s, y, mo, d, h, mi = stamp:match("^(%d)(%d%d)(%d%d)(%d%d)(%d%d)(%d%d)")
          local lt = t:ok(mb.parse_time(string.format("20%s-%s-%sT%s:%s:00Z", y, mo, d, h, mi)))
          ts = lt - (s == "1" and CEST or 3600) - 900
        elseif ts then
          ts = ts + 900 -- an entry: the energy of the 15 minutes up to its time
          local v = tonumber(line:match("^%(([%d%.]+)%)"))
          -- the hour's energy spread evenly over its quarters, in kWh
          local h0 = ts - 1 - (ts - 1) % 3600
          local e = (rd[h0 + 3600].imp - rd[h0].imp) / 4 / 1000
          t:expect(v, "P.01 A+ at " .. mb.format_time(ts)):near(e, 0.0011)
          read[#read + 1] = { mb.format_time(ts), v }
          want[#want + 1] = { mb.format_time(ts), e }
        end
      end
      -- both ends of the range are included: 20:00, 20:15, ..., 24:00
      t:measure("load profile entries", #read):equals(17)
      t:plot{ title = "load profile P.01 (A+ per 15 min), 1 June 2016 20:00-24:00 CEST",
        x = { label = "time", kind = "time" }, y = { label = "energy", unit = "kWh" },
        series = { { name = "read", points = read }, { name = "expected", points = want } } }
      t:ok(c:sign_off())
    end)
  end }
