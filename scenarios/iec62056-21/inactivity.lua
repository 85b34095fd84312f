-- Programming mode ends after the inactivity time-out: the meter goes back to its start
-- and answers only a new sign-on (IEC 62056-21:2002 6.3: 60..120 s). The simulator's
-- time-out is shortened to 2 s with a set override so that the scenario stays quick.
local flag = require "flag"
local REQ = flag.REQ

scenario "programming mode ends after the inactivity time-out" {
  tags = { "iec62056-21", "programming", "inactivity" },
  requirements = { REQ.inactivity },
  function(t)
    local m <close> = t:meter{ set = { ["iec62056_21.inactivity_ms"] = 2000 } }
    local c <close> = m:iec21()
    t:step("enter programming mode", function() t:ok(c:program(t:param("password", "00000000"))) end)
    t:step("a command within the time-out is answered", function()
      t:ok(c:read("1.8.0"))
    end)
    t:step("after the time-out a command gets no answer", function()
      t:sleep(2600)
      c:send(flag.command("R1", "1.8.0()"))
      local a = c:recv{ timeout_ms = 2000 }
      t:expect(a and a.type or "silence", "answer to R1 after the inactivity time-out",
        REQ.inactivity):equals("silence")
      t:expect(m:state().ports[1].session, "meter's session state"):equals("idle")
    end)
    t:step("a new sign-on works", function()
      local r = t:ok(c:readout())
      t:expect(r.reply, "readout after the time-out"):equals("DATA")
    end)
  end }
