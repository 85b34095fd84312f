-- Runner self-test: a meter that never answers makes the step time out; a scenario over
-- its wall-clock limit is stopped. Expected outcome: error, "timed out".
scenario "selftest: a meter that never answers makes the step time out" {
  tags = { "selftest" },
  function(t)
    -- a meter that stays silent for addresses not its own, and a client that would wait
    -- 20 s for an answer: the step's 2 s limit cuts it short
    local m <close> = t:meter{ set = { ["iec62056_21.unknown_address"] = "silent" } }
    local c <close> = m:iec21{ address = "99999999", response_timeout_ms = 20000 }
    t:step("sign on to a silent meter", { timeout_ms = 2000 }, function()
      t:ok(c:readout())
    end)
  end }

scenario "selftest: a scenario over its wall-clock limit is stopped" {
  tags = { "selftest" },
  timeout_ms = 1000,
  function(t)
    while true do end -- neither yields nor ends: the instruction hook stops it
  end }
