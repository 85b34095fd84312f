-- Protocol modes A, B and D (mode C: baud_switch.lua, programming.lua) on the small
-- model switched with set overrides (IEC 62056-21:2002 6.4.1, 6.4.2, 6.4.4).
local flag = require "flag"
local REQ = flag.REQ

local function model(mode, extra)
  local set = { ["iec62056_21.mode"] = mode }
  for k, v in pairs(extra or {}) do set[k] = v end
  return { model = "ms1p-basic", set = set }
end

scenario "mode A: the data message follows the identification at 300 Bd" {
  tags = { "iec62056-21", "mode-a" },
  requirements = { REQ.mode_a },
  function(t)
    local m <close> = t:meter(model("A"))
    local c <close> = m:iec21()
    t:step("readout", function()
      local r = t:ok(c:readout())
      t:expect(r.mode, "protocol mode from the identification's Z"):equals("A")
      t:expect(flag.RATE_B[r.baud_char] or flag.RATE_C[r.baud_char], "rate Z names in mode A")
        :is_nil()
      t:measure("rate the readout arrived at", r.rx_rate_bd, "Bd")
        :in_range(240, 375, { requirement = REQ.mode_a })
      t:expect(r.data, "data message", REQ.data):matches("!\r\n$")
    end)
  end }

scenario "mode B: the meter switches to Z's rate without an option select" {
  tags = { "iec62056-21", "mode-b" },
  requirements = { REQ.mode_b },
  function(t)
    local m <close> = t:meter(model("B"))
    local c <close> = m:iec21()
    t:step("readout", function()
      local r = t:ok(c:readout())
      t:expect(r.mode, "protocol mode from the identification's Z"):equals("B")
      local rate = flag.RATE_B[r.baud_char]
      t:measure("rate Z names", rate, "Bd"):record()
      t:measure("rate the readout arrived at", r.rx_rate_bd, "Bd")
        :in_range(rate * 0.8, rate * 1.25, { requirement = REQ.mode_b })
    end)
  end }

scenario "mode D: the meter pushes its data at 2400 Bd" {
  tags = { "iec62056-21", "mode-d" },
  requirements = { REQ.mode_d },
  function(t)
    local m <close> = t:meter(model("D", { ["iec62056_21.mode_d_period_ms"] = 1000 }))
    local c <close> = m:iec21{ mode_d = true, response_timeout_ms = 5000 }
    t:step("wait for a push", function()
      local r = t:ok(c:readout())
      t:expect(r.mode, "protocol mode"):equals("D")
      t:expect(r.baud_char, "baud rate character of a mode D identification", REQ.mode_d)
        :equals("3")
      t:measure("rate the data arrived at", r.rx_rate_bd, "Bd")
        :in_range(1920, 3000, { requirement = REQ.mode_d })
      t:expect(r.values and r.values["1-0:1.8.0*255"], "A+ in the pushed data"):not_nil()
    end)
  end }
