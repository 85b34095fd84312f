-- The break message B0 ends programming mode: commands after it get no answer, and the
-- meter signs on again at 300 Bd (IEC 62056-21:2002 6.3.7).
local flag = require "flag"
local REQ = flag.REQ

scenario "B0 ends programming mode" {
  tags = { "iec62056-21", "programming", "b0" },
  requirements = { REQ.b0 },
  function(t)
    local m <close> = t:meter{}
    local c <close> = m:iec21()
    t:step("enter programming mode", function() t:ok(c:program(t:param("password", "00000000"))) end)
    t:step("B0", function() t:ok(c:sign_off()) end)
    t:step("a command after B0 gets no answer", function()
      -- after B0 both sides are back at 300 Bd (the client switched already)
      c:send(flag.command("R1", "1.8.0()"))
      local a = c:recv{ timeout_ms = 1800 } -- longer than tr may be
      t:expect(a and a.type or "silence", "answer to R1 after B0", REQ.b0):equals("silence")
    end)
    t:step("a new sign-on works", function()
      local r = t:ok(c:readout())
      t:expect(r.reply, "readout after B0"):equals("DATA")
    end)
  end }
