-- Runner self-test: a meter that never prints its ready line fails the fixture, and the
-- runner stops it by its PID. Expected outcome: error, "meter never ready".
scenario "selftest: a meter that is not ready in time fails the fixture" {
  tags = { "selftest" },
  function(t)
    -- metersim is ready within a few milliseconds: only a limit of 0 is sure to pass
    -- before its ready line does
    local m <close> = t:meter{ ready_timeout_ms = 0 }
  end }

scenario "selftest: a meter that exits before it is ready fails the fixture" {
  tags = { "selftest" },
  function(t)
    local m <close> = t:meter{ model = "no-such-model" }
  end }
