-- Runner self-test: a simulated meter that dies during a scenario is reported as a
-- crash, with how it died. Expected outcome: error, "died: killed by signal 9".
scenario "selftest: a meter that dies is reported as a crash" {
  tags = { "selftest" },
  function(t)
    local m <close> = t:meter{}
    local c <close> = m:iec21()
    t:step("the meter dies", function()
      m:kill("KILL")
      t:sleep(2000) -- the runner notices the exit while it waits
      t:ok(c:readout())
    end)
  end }
