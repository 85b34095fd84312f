-- Reaction time tr: 200 ms (20 ms for a manufacturer's ID with a lowercase third letter)
-- to 1500 ms between the end of a message and the first character of the answer
-- (IEC 62056-21:2002 6.3). Measured from the end of our last character to the arrival
-- of the answer's first character, less that character's own time on the line.
local flag = require "flag"
local REQ = flag.REQ

scenario "identification within the reaction time tr" {
  tags = { "iec62056-21", "timing" },
  requirements = { REQ.tr },
  function(t)
    local m <close> = t:meter{}
    local c <close> = m:iec21()
    local id = t:step("sign on and time the identification", function()
      local id = flag.sign_on(t, c)
      local f = flag.parse_ident(id.bytes) or { manufacturer = "XXX" }
      -- on a serial line the first character takes 33 ms at 300 Bd to arrive whole
      local tr = id.reaction_ms - (c.transport == "serial" and 10 * 1000 / 300 or 0)
      t:measure("identification reaction time tr", tr, "ms")
        :in_range(flag.tr_min(f.manufacturer), 1500, { marginal_high = 1400, requirement = REQ.tr })
      return id
    end)
    t:step("readout after the sign-on", function()
      local data = flag.readout_after(t, c, id)
      local tr = data.reaction_ms
        - (c.transport == "serial" and 10 * 1000 / flag.RATE_C[id.baud_char or "0"] or 0)
      t:measure("readout reaction time after the option select", tr, "ms")
        :in_range(flag.tr_min(id.manufacturer or "XXX"), 1500, { requirement = REQ.tr })
    end)
  end }

scenario "answers in programming mode within tr" {
  tags = { "iec62056-21", "timing", "programming" },
  requirements = { REQ.tr },
  function(t)
    local m <close> = t:meter{}
    local c <close> = m:iec21()
    local pw = t:param("password", "00000000")
    local r = t:step("enter programming mode", function() return t:ok(c:program(pw)) end)
    local tr_min = flag.tr_min(r.manufacturer or "XXX")
    t:step("time the answers", function()
      t:measure("reaction time of the password ACK", r.reaction_ms, "ms")
        :in_range(tr_min, 1500, { requirement = REQ.tr })
      local a = t:ok(c:command("R1", "1.8.0()"))
      t:measure("reaction time of the R1 answer", a.reaction_ms, "ms")
        :in_range(tr_min, 1500, { requirement = REQ.tr })
    end)
    t:step("sign off", function() t:ok(c:sign_off()) end)
  end }
