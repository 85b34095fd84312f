-- Mode C baud rate switch: after the option select ACK 0 Z 0 both sides change to the
-- rate Z names, and the readout comes at that rate; with Z = 0 both stay at 300 Bd
-- (IEC 62056-21:2002 6.3.3, 6.4.3). The rate is measured from how long the readout
-- takes to arrive (10 bits per character), not taken from our own settings; the limits
-- (-20 %, +25 %) allow for a busy test machine and still tell every rate from the next.
local flag = require "flag"
local REQ = flag.REQ

scenario "mode C readout switches to the identification's rate" {
  tags = { "iec62056-21", "mode-c", "baud" },
  requirements = { REQ.mode_c, REQ.option },
  function(t)
    local m <close> = t:meter{}
    local c <close> = m:iec21()
    if c.transport == "tcp" then t:skip("a TCP connection has no line rate to switch") end
    t:step("readout", function()
      local r = t:ok(c:readout())
      t:expect(r.mode, "protocol mode from the identification", REQ.mode_c):equals("C")
      local offered = flag.RATE_C[r.baud_char]
      t:measure("rate offered by the identification", offered, "Bd"):record()
      t:expect(r.baud, "our line rate during the readout", REQ.option):equals(offered)
      t:measure("rate the readout arrived at", r.rx_rate_bd, "Bd")
        :in_range(offered * 0.8, offered * 1.25, { requirement = REQ.mode_c })
    end)
  end }

scenario "option select with Z = 0 keeps 300 Bd" {
  tags = { "iec62056-21", "mode-c", "baud" },
  requirements = { REQ.mode_c, REQ.option },
  function(t)
    -- the short readout of the small model: 300 Bd is slow
    local m <close> = t:meter{ model = "ms1p-basic" }
    local c <close> = m:iec21{ no_switch = true }
    t:step("readout at 300 Bd", function()
      local r = t:ok(c:readout())
      t:expect(r.baud, "our line rate during the readout"):equals(300)
      t:measure("rate the readout arrived at", r.rx_rate_bd, "Bd")
        :in_range(240, 375, { requirement = REQ.option })
    end)
  end }
